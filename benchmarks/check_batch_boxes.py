"""Per-batch boxes in the whole volume's phase (preprocessing.plan_batches): the pixels the
network sees against one box for the whole volume, and for the first N participants the
largest probability difference between the two (batch_size larger than the brain's slices
gives the one box).

    python benchmarks/check_batch_boxes.py HELDOUT_FOLDER N     # e.g. heldout (seed 200) 4
"""

import sys
from pathlib import Path

import numpy as np

from DeepMIRLib.inference import predict_probabilities
from DeepMIRLib.modelfile import load_model
from DeepMIRLib.pipeline import participant_from_folder, prepare_participant
from DeepMIRLib.preprocessing import plan_batches, plan_slices, stack_modalities

model = load_model("default")
total = [0, 0]
for n, folder in enumerate(sorted(Path(sys.argv[1]).glob("sim-*"))):
    prepared = prepare_participant(participant_from_folder(folder), model.card.inputs)
    mask = prepared.mask > 0
    whole = plan_slices(mask)
    before = len(whole.slices) * whole.height * whole.width
    after = sum(len(p.slices) * p.height * p.width for p in plan_batches(mask, "auto", 8))
    total[0] += before; total[1] += after
    line = f"{folder.name} pixels {before} -> {after} (-{1 - after / before:.1%})"
    if n < int(sys.argv[2]):
        stack = stack_modalities(prepared.canonical, model.card.inputs, prepared.mask)
        a = predict_probabilities(model, stack, prepared.mask, "cpu", batch_size=8)
        b = predict_probabilities(model, stack, prepared.mask, "cpu", batch_size=10_000)
        line += f"; max |probability difference| {np.abs(a - b).max():.2g}"
    print(line, flush=True)
print(f"all: {total[0]} -> {total[1]} (-{1 - total[1] / total[0]:.1%})")
