"""How the training candidates of round 24's J were labelled: per candidate of 0.5.3's U-Net (the
components of lesion probability >= 0.02, `proposal_labels`) and of the extremum proposals it
adds (SWI minima below -3.5 SD beside a QSM maximum above 2 SD, `extremum_proposals`), its
target by `secondstage.candidate_truth` (the centroid truth J was trained with: 0 neither,
1 microbleed, 2 iron deposit) and, for a lesion, whether its voxels grown by one voxel touch a
reference lesion of that class. Counts of (source, target, touches).

python truth_check.py PARTICIPANT_FOLDER...   (in /tmp/s29, after build_j.sh made iron-only/)
"""
import sys

import numpy as np
from scipy import ndimage

from DeepMIRLib.candidates import extract_candidates, extremum_proposals, proposal_labels
from DeepMIRLib.modelfile import load_model
from DeepMIRLib.secondstage import _canonical_map, _permissive_unet, _training_case, candidate_truth

loaded = load_model("/tmp/s29/iron-only/deepmir-multiclass-sim-w16.json")
extrema = {"swi_below": -3.5, "qsm_above": 2.0}
tot = {}
for folder in sys.argv[1:]:
    case = _training_case(folder)
    stack, labels, probs = _permissive_unet(case, loaded, {})
    ref, mim = _canonical_map(case.labels), _canonical_map(case.mimics)
    base = proposal_labels(labels, probs, [1, 2], 0.02)
    proposed = extremum_proposals(base, stack, loaded.card.inputs, extrema)
    cands = extract_candidates(proposed, probs, [1, 2])
    targets, causes = candidate_truth(cands, ref, mim)
    for i in range(len(cands)):
        comp = cands.components == i + 1
        from_extrema = not (base[comp] > 0).any()
        grown = ndimage.binary_dilation(comp, np.ones((3, 3, 3)))
        touches = bool((ref[grown] == targets[i]).any()) if targets[i] else None
        key = ("extremum" if from_extrema else "unet", int(targets[i]), touches)
        tot[key] = tot.get(key, 0) + 1
    print(folder, flush=True)
for k, v in sorted(tot.items(), key=str): print(k, v)
