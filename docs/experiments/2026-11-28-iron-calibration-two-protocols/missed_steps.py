"""Which step of 0.5.3's iron classifier removes a missed deposit (analysis after round 26's choice).

For each reference iron deposit of the participants named on the command line (their sizes
match them to iron_errors.py's lines; the numbering here is the canonical grid's), the candidates of `--model` (a model with one
second stage: round 24's iron-only, 0.5.3's iron classifier and minimums) whose voxels lie within
one voxel of the deposit: voxels, U-Net label, the classifier's scores (neither, cmb, iron) and
the decision after each step of `candidates.decide_candidates` (decide, keep_unet_lesions,
suppress).

python missed_steps.py --model /tmp/s30/iron-only/deepmir-multiclass-sim-w16.json \
    /tmp/s30/select-600/sim-600-0005 /tmp/s30/select-600/sim-600-0008 ...
"""
import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

from DeepMIRLib.candidates import classify, decide, extract_candidates, keep_unet_lesions, patches_for, second_stage_proposals, suppress
from DeepMIRLib.lesions import components_touching, label_components
from DeepMIRLib.modelfile import load_model
from DeepMIRLib.secondstage import _canonical_map, _permissive_unet, _training_case

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("participants", nargs="+", help="participant folders")
args = parser.parse_args()
loaded = load_model(args.model)
spec = loaded.card.second_stage
class_labels = [c.label for c in loaded.card.lesion_classes]
print(f"model {loaded.card.name} {loaded.card.version}; min {spec.min_probability}; suppression {spec.suppression} "
      f"sparing {spec.suppression_spares}; keep_unet {spec.keep_unet}")
for folder in args.participants:
    case = _training_case(folder)
    stack, labels, probabilities = _permissive_unet(case, loaded, {})
    deposits, n_deposits = label_components(_canonical_map(case.labels) == 2)
    proposed = second_stage_proposals(spec, labels, probabilities, class_labels, stack, loaded.card.inputs)
    candidates = extract_candidates(proposed, probabilities, class_labels)
    scores = classify(loaded.second_stage, patches_for(stack, candidates, spec.patch), candidates.features, average_flips=spec.average_flips)
    decided = decide(scores, spec.min_probability)
    kept = keep_unet_lesions(candidates, scores, decided, spec.keep_unet, spec.decided_keys())
    final = suppress(candidates, kept, spec.suppression, spec.suppression_spares)
    for component in range(1, n_deposits + 1):
        grown = ndimage.binary_dilation(deposits == component, structure=np.ones((3, 3, 3)))
        touching = np.flatnonzero(components_touching(candidates.components, len(candidates), grown))
        print(f"{Path(folder).name} deposit {component} ({int((deposits == component).sum())} voxels): {len(touching)} candidate(s) touch it")
        for k in touching:
            print(f"  candidate {k + 1}: {int((candidates.components == k + 1).sum())} voxels, U-Net label {candidates.label[k]}, "
                  f"scores {np.round(scores[k], 3).tolist()}, decide {decided[k]}, keep_unet {kept[k]}, suppress {final[k]}")
    sys.stdout.flush()
