# ruff: noqa
# The script as run: python ironfp.py PREDICTIONS REFERENCE (folders of participants).
# Where the two-stage model's iron false positives lie: distance to the nearest reference iron
# deposit and microbleed, size, and the mimic under them.
import sys
from pathlib import Path
import numpy as np
from scipy import ndimage
from DeepMIRLib.lesions import label_components
from DeepMIRLib.volumes import read_volume
pred_dir, ref_dir = Path(sys.argv[1]), Path(sys.argv[2])
rows = []
for folder in sorted(ref_dir.glob("sim-*")):
    pred = read_volume(pred_dir / folder.name / "labels.nii.gz").array.astype(int)
    ref = read_volume(folder / "labels.nii.gz").array.astype(int)
    mim = read_volume(folder / "mimics.nii.gz").array.astype(int)
    def cents(m):
        lab, n = label_components(m)
        return lab, np.array(ndimage.center_of_mass(np.ones(m.shape), lab, range(1, n + 1))).reshape(-1, 3)
    plab, pc = cents(pred == 2)
    _, ri = cents(ref == 2)
    _, rc = cents(ref == 1)
    for k, c in enumerate(pc):
        di = np.linalg.norm(ri - c, axis=1).min() if len(ri) else np.inf
        dc = np.linalg.norm(rc - c, axis=1).min() if len(rc) else np.inf
        if di <= 5:
            continue
        region = plab == k + 1
        under = mim[region]; under = under[under > 0]
        overlap_iron = (ref[region] == 2).any()
        rows.append((folder.name, int(region.sum()), round(di, 1), round(dc, 1), bool(overlap_iron), int(np.bincount(under).argmax()) if under.size else 0))
for r in rows: print(*r)
print(len(rows), "iron detections farther than 5 voxels from every reference iron deposit")
print("overlapping a reference iron deposit (a piece of one):", sum(r[4] for r in rows), "; within 3 voxels of a microbleed:", sum(r[3] <= 3 for r in rows),
      "; on a vein:", sum(r[5] == 1 for r in rows), "; elsewhere:", sum((not r[4]) and r[3] > 3 and r[5] == 0 for r in rows))
