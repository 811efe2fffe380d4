# ruff: noqa
# The script as run (python small_cmb_proposals.py calib; calib = deepmir simulate --n 10 --seed 710 --load dense --slab 32).
# For each reference microbleed of a cohort: the U-Net's highest lesion-probability sum within
# 2 voxels, its size, and whether a local-extremum detector (SWI minimum and QSM maximum) fires.
import sys, numpy as np, torch
from pathlib import Path
from scipy import ndimage
torch.set_num_threads(1)
from DeepMIRLib.modelfile import load_model
from DeepMIRLib.pipeline import detect, participant_from_folder
from DeepMIRLib.preprocessing import stack_modalities
from DeepMIRLib.lesions import label_components
from DeepMIRLib.volumes import read_volume, to_canonical
loaded = load_model("default")
rows = []
fp_counts = {}
for folder in sorted(Path(sys.argv[1]).iterdir()):
    if not (folder / "manifest.json").exists():
        continue
    d = detect(participant_from_folder(folder), loaded, min_probability=0, stages=1, runtime="torch")
    p = d.prepared
    stack = stack_modalities(p.canonical, loaded.card.inputs, p.mask)  # swi, qsm, t2 z-scored
    prob = sum(to_canonical(d.probabilities[c.key])[0].array for c in loaded.card.lesion_classes)
    ref = to_canonical(read_volume(folder / "labels.nii.gz"))[0].array
    mimics = to_canonical(read_volume(folder / "mimics.nii.gz"))[0].array
    swi, qsm = stack[0], stack[1]
    local_min = (swi == ndimage.minimum_filter(swi, size=(1, 5, 5))) & (swi < -2.0)
    local_max = ndimage.maximum_filter(qsm, size=(3, 3, 3)) > 2.0
    extremum = local_min & local_max & (p.mask > 0)
    lab, n = label_components(ref == 1)
    near = ndimage.maximum_filter(prob, size=5)
    ext_near = ndimage.maximum_filter(extremum.astype(np.uint8), size=5) > 0
    for k in range(1, n + 1):
        region = lab == k
        rows.append((folder.name, int(region.sum()), float(near[region].max()), bool(ext_near[region].any()),
                     float(swi[region].min()), float(qsm[region].max())))
    # extremum detections not near any lesion: by mimic cause
    elab, en = label_components(extremum)
    lesion_near = ndimage.maximum_filter((ref > 0).astype(np.uint8), size=7) > 0
    for k, box in enumerate(ndimage.find_objects(elab)):
        r = elab[box] == k + 1
        if lesion_near[box][r].any():
            continue
        m = mimics[box][r]
        cause = {0: "none", 1: "vein", 2: "calc", 3: "epvs"}[int(np.bincount(m.astype(np.int64)).argmax())] if m.size else "none"
        fp_counts[cause] = fp_counts.get(cause, 0) + 1
    print(folder.name, flush=True)
print("participant size max_prob_sum_within2 extremum_near swi_min qsm_max")
for r in rows:
    print(*r)
rows_a = np.array([(r[1], r[2], r[3]) for r in rows], dtype=float)
for t in (0.5, 0.1, 0.02, 0.005, 0.001):
    print(f"proposed at sum>={t}: {(rows_a[:,1] >= t).sum()} of {len(rows_a)}")
print("extremum near:", int(rows_a[:,2].sum()), "of", len(rows_a), "; missed at 0.02 but extremum:", int(((rows_a[:,1] < 0.02) & (rows_a[:,2] > 0)).sum()))
print("extremum candidates away from lesions by cause:", fp_counts)
