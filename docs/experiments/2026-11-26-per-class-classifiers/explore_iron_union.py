"""Exploration (on a cohort already seen, so it chooses nothing): C's label maps plus the
U-Net alone's iron deposits (`deepmir predict --stages 1`, its calibrated minimum
probability) that touch none of C's lesions, i.e. the deposits the iron classifier removed
where the U-Net alone keeps them.

python explore_iron_union.py pred-780-c pred-780-s1 pred-780-union
"""
import sys
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

IRON = 2
two_stage, unet_alone, out = (Path(a) for a in sys.argv[1:4])
added = 0
for participant in sorted(p.name for p in two_stage.iterdir() if (p / "labels.nii.gz").exists()):
    image = sitk.ReadImage(str(two_stage / participant / "labels.nii.gz"))
    labels = sitk.GetArrayFromImage(image)
    alone = sitk.GetArrayFromImage(sitk.ReadImage(str(unet_alone / participant / "labels.nii.gz")))
    components, n = ndimage.label(alone == IRON)
    for index in range(1, n + 1):
        component = components == index
        if not labels[component].any():
            labels[component] = IRON
            added += 1
    result = sitk.GetImageFromArray(labels.astype(np.uint8))
    result.CopyInformation(image)
    (out / participant).mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(result, str(out / participant / "labels.nii.gz"), useCompression=True)
print(f"{added} U-Net iron deposits added")
