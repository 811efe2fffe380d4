"""Exploration on round 8's spent cohorts (nothing can be chosen on them): the default's two
stages against a rule for its iron classifier that keeps a U-Net iron candidate where the
classifier's probability of a lesion (1 - 'neither') reaches a minimum, whatever class it
prefers; with `--unet-iron P`, only where the U-Net's highest iron probability in it reaches P
as well. Pooled TP / FP / FN per class on the canonical grid, as `deepmir calibrate` counts
them (centroids within 3 and 5 voxels).

python explore_iron_rule.py MODEL.json COHORT [--unet-iron P]
"""
import sys
from pathlib import Path

import numpy as np

from DeepMIRLib import secondstage
from DeepMIRLib.candidates import classify, decide, extract_candidates, patches_for, relabel, second_stage_proposals, suppress
from DeepMIRLib.modelfile import load_model
from DeepMIRLib.pipeline import combine_stages, decided_labels
from DeepMIRLib.training import find_training_cases

LESION_MINIMUMS = (0.5, 0.8, 0.9, 0.95)

UNET_IRON = float(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--unet-iron" else 0.0
model = load_model(sys.argv[1])
cases = find_training_cases(Path(sys.argv[2]))
specs = model.card.second_stages
iron_index = next(i for i, spec in enumerate(specs) if spec.decided_keys() == ("iron",))
rules = ["default"] + [f"lesion >= {t}" for t in LESION_MINIMUMS]
totals = {rule: {"cmb": np.zeros(3, int), "iron": np.zeros(3, int)} for rule in rules}
for n, case in enumerate(cases):
    stack, labels, probabilities = secondstage._permissive_unet(case, model, {})
    reference = secondstage._centroids(secondstage._canonical_map(case.labels))
    maps = {rule: [] for rule in rules}
    for index, spec in enumerate(specs):
        proposed = second_stage_proposals(spec, labels, probabilities, [1, 2], stack, model.card.inputs)
        candidates = extract_candidates(proposed, probabilities, [1, 2])
        scores = classify(model.second_stage_network(index), patches_for(stack, candidates, spec.patch), candidates.features)
        default = decide(scores, spec.min_probability)
        for rule in rules:
            decisions = default
            if index == iron_index and rule != "default":
                lesion = 1 - scores[:, 0] if len(scores) else np.zeros(0)
                confident = (candidates.label == 2) & (lesion >= float(rule.split()[-1])) & (candidates.features[:, 3] >= UNET_IRON)
                decisions = np.where((default == 2) | confident, 2, default).astype(np.uint8)
            kept = suppress(candidates, decisions, spec.suppression)
            maps[rule].append((relabel(candidates, kept), decided_labels(model.card, spec)))
    for rule in rules:
        counts = secondstage._counts(secondstage._centroids(combine_stages(labels, maps[rule])), reference)
        for key in ("cmb", "iron"):
            totals[rule][key] += counts[key]
    print(f"{n + 1}/{len(cases)}", file=sys.stderr)
for rule in rules:
    print(f"{sys.argv[2]} {rule}" + (f", U-Net iron >= {UNET_IRON}" if UNET_IRON and rule != "default" else "") + ": " + "; ".join(f"{key} TP/FP/FN {'/'.join(map(str, totals[rule][key]))}" for key in ("cmb", "iron")))
