# ruff: noqa
# The script as run for this experiment (kept unchanged; paths relative to /tmp/ss15).
"""Two-stage (and permissive U-Net) labels on the held-out cohort from the lead's saved U-Net probability maps
(/tmp/heldout-pred, model 0.3.0): the same images prepared by pipeline.prepare_participant, the same U-Net output,
the second stage applied as pipeline.detect applies it."""
import sys, time, torch, numpy as np
from pathlib import Path
torch.set_num_threads(1)
from DeepMIRLib import secondstage as s
from DeepMIRLib.modelfile import load_model
from DeepMIRLib.pipeline import participant_from_folder, prepare_participant
from DeepMIRLib.preprocessing import stack_modalities
from DeepMIRLib.inference import labels_from_probabilities
from DeepMIRLib.lesions import remove_lesions
from DeepMIRLib.volumes import read_volume, to_canonical, write_volume
model = load_model(sys.argv[1])
out2, out0 = Path(sys.argv[2]), Path(sys.argv[3])
times = []
for folder in sorted(Path("/tmp/heldout").iterdir()):
    if not folder.is_dir() or (out2 / folder.name / "labels.nii.gz").exists():
        continue
    prepared = prepare_participant(participant_from_folder(folder), model.card.inputs)
    stack = stack_modalities(prepared.canonical, model.card.inputs, prepared.mask)
    probs = np.stack([to_canonical(read_volume(Path("/tmp/heldout-pred") / folder.name / f"prob_{c.key}.nii.gz"))[0].array
                      for c in model.card.lesion_classes])
    labels = labels_from_probabilities(probs, [1, 2])
    t = time.perf_counter()
    two = s.apply_second_stage(model.second_stage, model.card.second_stage, stack, remove_lesions(labels, 1), probs, [1, 2])[0]
    times.append(time.perf_counter() - t)
    for out, lab in ((out2, two), (out0, labels)):
        write_volume(prepared.swi.with_array(prepared.reorientation.restore(lab).astype(np.uint8)), out / folder.name / "labels.nii.gz")
    print(folder.name, f"{times[-1]:.3f} s", flush=True)
print("second stage seconds per participant: median", np.median(times), "max", np.max(times))
