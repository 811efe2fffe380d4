"""What a classifier said about each reference iron deposit of some participants: the
nearest candidate (within 5 voxels of the deposit's centroid, canonical voxel units) of the
model's iron classifier (or with --decider cmb its microbleed classifier, whose candidates
include the card's extremum proposals), its size, its U-Net label, the classifier's scores (neither, cmb,
iron) and its decision (secondstage.score_case and candidates.decide_candidates, as
`deepmir calibrate` scores them). Analysis only.

python iron_scores.py [--decider cmb] MODEL.json FOLDER/sim-... [FOLDER/sim-... ...]
"""
import sys
from pathlib import Path

import numpy as np

from DeepMIRLib.candidates import decide_candidates
from DeepMIRLib.modelfile import load_model
from DeepMIRLib.secondstage import _permissive_unet, _training_case, score_case

arguments = sys.argv[1:]
decider = "iron"
if arguments[0] == "--decider":
    decider, arguments = arguments[1], arguments[2:]
loaded = load_model(arguments[0])
index = next(i for i, spec in enumerate(loaded.card.second_stages) if decider in spec.decided_keys())
spec, network = loaded.card.second_stages[index], loaded.second_stage_network(index)
print(f"{loaded.card.name} {loaded.card.version}: {decider} classifier {index}, minimum {spec.min_probability}, extrema {spec.extrema}")
for folder in map(Path, arguments[1:]):
    case = _training_case(folder)
    row = score_case(case, _permissive_unet(case, loaded, {}), loaded, network, spec)
    candidates, scores = row["candidates"], row["scores"]
    decisions = decide_candidates(candidates, scores, spec, None)
    kept = candidates.lesion_centroids(decisions)[2]  # with --decider cmb: what it would keep as iron (the card takes only its microbleeds)
    for centroid in row["reference"][2]:
        found = bool(len(kept)) and np.linalg.norm(kept - centroid, axis=1).min() <= 5
        distance = np.linalg.norm(candidates.centroid - centroid, axis=1) if len(candidates) else np.array([np.inf])
        nearest = int(np.argmin(distance))
        if distance[nearest] > 5:
            print(f"{folder.name} deposit at {np.round(centroid, 1)}: {'found' if found else 'missed'}; no candidate within 5 voxels")
            continue
        print(f"{folder.name} deposit at {np.round(centroid, 1)}: {'found' if found else 'missed'}; candidate {distance[nearest]:.1f} voxels away, "
              f"{candidates.size[nearest]} voxels, U-Net label {candidates.label[nearest]}, scores (neither, cmb, iron) "
              f"{np.round(scores[nearest], 3)}, decision {decisions[nearest]}")
