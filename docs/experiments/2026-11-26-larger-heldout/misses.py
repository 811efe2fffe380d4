"""Where the reference lesions a detection misses went, and what its false lesions lie on.

For each microbleed (iron deposit) with no predicted lesion of its class whose centroid lies
within 3 (5) voxels: its size, the U-Net's highest probabilities of each class inside it, and
what the two-stage and the U-Net-alone predictions labelled inside it. For each predicted
lesion with no reference lesion of its class within that distance: what it overlaps (a
reference lesion of the other class, a mimic by kind, or a reference lesion of its class it is
a piece of), else 'nothing'. Summary lines count both per class.

python misses.py heldout-1000 pred-1000-s2 pred-1000-s1
(nearest predicted centroid, not the optimal assignment: a lesion counted here as found can
still be a false negative of `deepmir evaluate` where two share one prediction)
"""
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

CLASSES = {1: ("cmb", 3.0), 2: ("iron", 5.0)}
STRUCTURE = np.ones((3, 3, 3))


def read(path):
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path)))


def nearest(found, centroid):
    return np.min(np.linalg.norm(found - centroid, axis=1)) if len(found) else np.inf


def centroids(labels, value):
    components, n = ndimage.label(labels == value, STRUCTURE)
    return components, np.array(ndimage.center_of_mass(labels == value, components, range(1, n + 1))).reshape(-1, 3)


reference_folder, two_stages, unet_alone = (Path(a) for a in sys.argv[1:4])
outcomes = {value: Counter() for value in CLASSES}
false = {value: Counter() for value in CLASSES}
MIMICS = {1: "vein", 2: "calcification", 3: "perivascular space"}
for participant in sorted(p.name for p in two_stages.iterdir() if p.is_dir()):
    reference = read(reference_folder / participant / "labels.nii.gz")
    predicted = read(two_stages / participant / "labels.nii.gz")
    alone = read(unet_alone / participant / "labels.nii.gz")
    mimics = read(reference_folder / participant / "mimics.nii.gz")
    probability = {value: read(two_stages / participant / f"prob_{key}.nii.gz") for value, (key, _) in CLASSES.items()}
    for value, (key, tolerance) in CLASSES.items():
        components, reference_centroids = centroids(reference, value)
        _, found_centroids = centroids(predicted, value)
        _, alone_centroids = centroids(alone, value)
        for index, centroid in enumerate(reference_centroids, start=1):
            if nearest(found_centroids, centroid) <= tolerance:
                outcomes[value]["found"] += 1
                continue
            inside = components == index
            by_two = "other class" if (predicted[inside] == 3 - value).any() else "pieces/off centre" if (predicted[inside] == value).any() else "nothing"
            by_alone = "found" if nearest(alone_centroids, centroid) <= tolerance else "missed"
            outcomes[value][f"missed: two stages label {by_two}; U-Net alone {by_alone}"] += 1
            print(f"{participant} {key} {index}: {int(inside.sum())} voxels at {tuple(round(c) for c in centroid)}, "
                  f"U-Net max p(cmb) {probability[1][inside].max():.2f}, p(iron) {probability[2][inside].max():.2f}; "
                  f"two stages: {by_two}; U-Net alone: {by_alone}")
        predicted_components, _ = centroids(predicted, value)
        for index, centroid in enumerate(found_centroids, start=1):
            if len(reference_centroids) and np.min(np.linalg.norm(reference_centroids - centroid, axis=1)) <= tolerance:
                continue
            under = predicted_components == index
            if (reference[under] == 3 - value).any():
                cause = "the other class's lesion"
            elif (mimics[under] > 0).any():
                cause = MIMICS.get(int(np.bincount(mimics[under][mimics[under] > 0]).argmax()), "mimic")
            elif (reference[under] == value).any():
                cause = "a piece of a lesion of its class"
            else:
                cause = "nothing"
            false[value][cause] += 1
for value, (key, _) in CLASSES.items():
    print(f"{key} false lesions on: " + "; ".join(f"{what}: {n}" for what, n in sorted(false[value].items())))
    print(f"{key}: " + "; ".join(f"{what}: {n}" for what, n in sorted(outcomes[value].items())))
