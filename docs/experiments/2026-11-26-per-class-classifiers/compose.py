"""Candidate C's label maps from two `deepmir predict` folders of the same cohort:
microbleeds (label 1) where the first labels them, else iron deposits (label 2) where the
second labels them, else background.

python compose.py pred-780-a pred-780-042 pred-780-c
"""
import sys
from pathlib import Path

import numpy as np
import SimpleITK as sitk

CMB, IRON = 1, 2
microbleed_source, iron_source, out = (Path(a) for a in sys.argv[1:4])
participants = sorted(p.name for p in microbleed_source.iterdir() if (p / "labels.nii.gz").exists())
assert participants == sorted(p.name for p in iron_source.iterdir() if (p / "labels.nii.gz").exists()), "different participants"
for participant in participants:
    first = sitk.ReadImage(str(microbleed_source / participant / "labels.nii.gz"))
    second = sitk.ReadImage(str(iron_source / participant / "labels.nii.gz"))
    for check in ("GetSize", "GetSpacing", "GetOrigin", "GetDirection"):
        assert np.allclose(getattr(first, check)(), getattr(second, check)()), f"{participant}: {check} differs"
    a, b = sitk.GetArrayFromImage(first), sitk.GetArrayFromImage(second)
    combined = np.where(a == CMB, CMB, np.where(b == IRON, IRON, 0)).astype(a.dtype)
    image = sitk.GetImageFromArray(combined)
    image.CopyInformation(first)
    (out / participant).mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(out / participant / "labels.nii.gz"), useCompression=True)
print(f"{len(participants)} participants composed into {out}")
