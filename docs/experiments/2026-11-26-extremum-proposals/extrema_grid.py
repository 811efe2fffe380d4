# ruff: noqa
"""Extremum candidates added to 0.4.2's second stage, scored by its classifier unchanged:
python extrema_grid.py COHORT OUT.json  (COHORT: simulated participants).
Per participant: the U-Net's candidates and decisions (as detection makes them) and, at the
loosest thresholds (SWI < -2 SD local in-plane 5x5 minimum, QSM max within 3x3x3 > 2 SD,
inside the mask), the extremum components farther than 2 voxels from every U-Net candidate,
each with its voxels' SWI and QSM values, its classifier scores, and whether a mimic lies
within 1 voxel. The grid is then evaluated offline from the saved rows."""
import json, sys
from pathlib import Path
import numpy as np
from scipy import ndimage
from DeepMIRLib.candidates import Candidates, classify, decide, extract_candidates, patches_for, proposal_labels, relabel, suppress
from DeepMIRLib.lesions import label_components
from DeepMIRLib.modelfile import load_model
from DeepMIRLib.secondstage import _canonical_map, _centroids, _permissive_unet
from DeepMIRLib.secondstagespec import N_FEATURES
from DeepMIRLib.training import find_training_cases

loaded = load_model("default")
spec = loaded.card.second_stage
net = loaded.second_stage
out = []
for case in find_training_cases(Path(sys.argv[1])):
    stack, labels, probabilities = _permissive_unet(case, loaded, {})
    class_labels = [c.label for c in loaded.card.lesion_classes]
    cands = extract_candidates(proposal_labels(labels, probabilities, class_labels, spec.proposal), probabilities, class_labels)
    scores = classify(net, patches_for(stack, cands, spec.patch), cands.features)
    decisions = suppress(cands, decide(scores, spec.min_probability), spec.suppression)
    final = relabel(cands, decisions)
    base = _centroids(final)
    reference = _canonical_map(case.labels)
    ref = _centroids(reference)
    mimics = _canonical_map(case.mimics)
    swi, qsm = stack[0], stack[1]
    mask = np.abs(stack).sum(axis=0) > 0  # the stack is zero outside the mask
    qmax = ndimage.maximum_filter(qsm, size=(3, 3, 3))
    extremum = (swi == ndimage.minimum_filter(swi, size=(1, 5, 5))) & (swi < -2.0) & (qmax > 2.0) & mask
    near_cand = ndimage.binary_dilation(cands.components > 0, iterations=2)
    extremum &= ~near_cand
    comps, n = label_components(extremum)
    rows = []
    if n:
        p_cmb, p_iron = probabilities[0], probabilities[1]
        centroid, feats = [], []
        for k, box in enumerate(ndimage.find_objects(comps)):
            local = comps[box] == k + 1
            vox = np.argwhere(local) + [b.start for b in box]
            centroid.append(vox.mean(axis=0))
            feats.append([np.log1p(len(vox)), (box[0].stop - box[0].start) / 4.0, float(p_cmb[box][local].max()), float(p_iron[box][local].max()), 1.0, 0.0])
            idx = tuple(vox.T)
            near_m = mimics[tuple(slice(max(b.start - 1, 0), b.stop + 1) for b in box)] if mimics is not None else np.zeros(1)
            rows.append({"swi": swi[idx].tolist(), "qmax": qmax[idx].tolist(), "mimic": sorted({int(v) for v in np.unique(near_m)} - {0}),
                         "centroid": vox.mean(axis=0).tolist()})
        ext = Candidates(comps, np.ones(n, int), np.array(centroid), np.array(feats, np.float32))
        ext_scores = classify(net, patches_for(stack, ext, spec.patch), ext.features)
        for r, s in zip(rows, ext_scores):
            r["scores"] = s.tolist()
    out.append({"participant": case.case_id, "base": {str(k): v.tolist() for k, v in base.items()},
                "ref": {str(k): v.tolist() for k, v in ref.items()}, "extrema": rows})
    print(case.case_id, n, flush=True)
Path(sys.argv[2]).write_text(json.dumps(out))
