"""Where the held-out iron deposits that a detection misses went: for each reference deposit
with no predicted deposit's centroid within 5 voxels, its size, the U-Net's highest iron and
microbleed probabilities inside it, and what the detection labelled there.

python iron_misses.py heldout-270 pred-270-c [pred-270-042]
(the U-Net's probability maps from the third folder when given: compose.py writes label maps only)
"""
import sys
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

IRON, CMB, TOLERANCE = 2, 1, 5.0


def read(path):
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


reference_folder, prediction_folder = Path(sys.argv[1]), Path(sys.argv[2])
probability_folder = Path(sys.argv[3]) if len(sys.argv) > 3 else prediction_folder
missed = found = 0
for participant in sorted(p.name for p in prediction_folder.iterdir() if p.is_dir()):
    reference = read(reference_folder / participant / "labels.nii.gz")
    predicted = read(prediction_folder / participant / "labels.nii.gz")
    p_iron = read(probability_folder / participant / "prob_iron.nii.gz")
    p_cmb = read(probability_folder / participant / "prob_cmb.nii.gz")
    components, n = ndimage.label(reference == IRON)
    kept, m = ndimage.label(predicted == IRON)
    kept_centroids = np.array(ndimage.center_of_mass(predicted == IRON, kept, range(1, m + 1))).reshape(-1, 3)
    for index, centroid in enumerate(ndimage.center_of_mass(reference == IRON, components, range(1, n + 1)), start=1):
        distance = np.min(np.linalg.norm(kept_centroids - centroid, axis=1)) if m else np.inf
        if distance <= TOLERANCE:
            found += 1
            continue
        missed += 1
        inside = components == index
        labels_inside = {name: int((predicted[inside] == value).sum()) for name, value in (("cmb", CMB), ("iron", IRON))}
        print(f"{participant} deposit {index}: {int(inside.sum())} voxels at {tuple(round(c) for c in centroid)}, "
              f"max U-Net p(iron) {p_iron[inside].max():.2f}, p(cmb) {p_cmb[inside].max():.2f}; "
              f"labelled inside {labels_inside}; nearest predicted deposit {distance:.1f} voxels")
print(f"{found} deposits found, {missed} missed (nearest predicted centroid within {TOLERANCE} voxels, not the optimal assignment)")
