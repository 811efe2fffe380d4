"""What the iron classifier says of the reference iron deposits: for each deposit of the given
participants, the candidate of the iron classifier's proposals that overlaps it most (canonical
grid), its scores over (neither, CMB, iron) and its features, and whether the classifier keeps
it at its minimum probability. Analysis only (after round 8's figures).

python iron_scores.py MODEL.json heldout-1000 sim-1000-0005 sim-1000-0006 ...
"""
import sys
from pathlib import Path

import numpy as np

from DeepMIRLib import secondstage
from DeepMIRLib.candidates import classify, decide, extract_candidates, patches_for, second_stage_proposals
from DeepMIRLib.lesions import label_components
from DeepMIRLib.modelfile import load_model
from DeepMIRLib.training import find_training_cases

model = load_model(sys.argv[1])
cases = {case.case_id: case for case in find_training_cases(Path(sys.argv[2]))}
index = next(i for i, spec in enumerate(model.card.second_stages) if spec.decided_keys() == ("iron",))
spec, network = model.card.second_stages[index], model.second_stage_network(index)
print(f"iron classifier: second stage {index}, minimum probabilities {spec.min_probability}")
kept = removed = 0
for participant in sys.argv[3:]:
    case = cases[participant]
    stack, labels, probabilities = secondstage._permissive_unet(case, model, {})
    proposed = second_stage_proposals(spec, labels, probabilities, [1, 2], stack, model.card.inputs)
    candidates = extract_candidates(proposed, probabilities, [1, 2])
    scores = classify(network, patches_for(stack, candidates, spec.patch), candidates.features)
    decisions = decide(scores, spec.min_probability)
    reference = secondstage._canonical_map(case.labels)
    deposits, n = label_components(reference == 2)
    for d in range(1, n + 1):
        under = candidates.components[deposits == d]
        under = under[under > 0]
        if not under.size:
            print(f"{participant} deposit {d}: {int((deposits == d).sum())} voxels, no candidate")
            continue
        k = int(np.bincount(under).argmax()) - 1
        kept, removed = kept + (decisions[k] == 2), removed + (decisions[k] != 2)
        print(f"{participant} deposit {d}: {int((deposits == d).sum())} voxels; candidate {k} (U-Net label {candidates.label[k]}, "
              f"{int(np.expm1(candidates.features[k, 0]).round())} voxels, U-Net max p cmb {candidates.features[k, 2]:.2f} "
              f"iron {candidates.features[k, 3]:.2f}): scores neither {scores[k, 0]:.3f} cmb {scores[k, 1]:.3f} iron {scores[k, 2]:.3f} "
              f"-> {('removed', 'cmb', 'iron')[decisions[k]]}")
print(f"{kept} deposits kept as iron, {removed} not")
