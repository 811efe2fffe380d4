"""Round 32's check that F decides nominal-protocol participants exactly as 0.5.3 does: the label
maps of pred-630-m053 and pred-630-f (`deepmir predict` on `deepmir simulate --n 5 --seed 630`,
first echo 7.5 ms) compared voxel by voxel.

python same_nominal.py    (in /tmp/s35)
"""
from pathlib import Path

import numpy as np
import SimpleITK as sitk

different = 0
folders = sorted(p for p in Path("pred-630-m053").iterdir() if p.is_dir())
for folder in folders:
    a, b = (sitk.GetArrayFromImage(sitk.ReadImage(str(Path(m) / folder.name / "labels.nii.gz"))) for m in ("pred-630-m053", "pred-630-f"))
    different += int(not np.array_equal(a, b))
print(f"{len(folders)} nominal participants, label maps different: {different}")
