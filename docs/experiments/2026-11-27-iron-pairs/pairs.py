"""The iron deposits a detection misses, by how close the nearest other reference deposit lies.

For each participant of COHORT, the reference iron deposits (label 2's connected components)
are matched to the predicted ones as `deepmir evaluate` does (centroids within 5 voxels,
optimal one-to-one). Each reference deposit is put in a bin by the distance from its centroid to
the nearest other reference deposit's; per bin, how many there are and how many are missed.

python pairs.py COHORT PREDICTION [COHORT PREDICTION ...]
"""
import sys
from pathlib import Path

import numpy as np

from DeepMIRLib.metrics import class_components, match_lesions
from DeepMIRLib.volumes import read_labels

BINS = ((0, 5), (5, 10), (10, 20), (20, np.inf))


def deposits(path: Path) -> np.ndarray:
    return class_components(read_labels(path, (0, 1, 2)), 2)[1]


def cohort_rows(cohort: Path, prediction: Path) -> list[tuple[float, bool]]:
    """(distance to the nearest other reference deposit, missed) per reference deposit."""
    rows = []
    for participant in sorted(p for p in cohort.iterdir() if (p / "labels.nii.gz").exists()):
        reference = deposits(participant / "labels.nii.gz")
        predicted = deposits(prediction / participant.name / "labels.nii.gz")
        matched = {r for _, r, _ in match_lesions(predicted, reference, 5.0)}
        for index, centroid in enumerate(reference):
            others = np.delete(reference, index, axis=0)
            nearest = float(np.linalg.norm(others - centroid, axis=1).min()) if len(others) else np.inf
            rows.append((nearest, index not in matched))
    return rows


arguments = sys.argv[1:]
for cohort, prediction in zip(arguments[::2], arguments[1::2]):
    rows = cohort_rows(Path(cohort), Path(prediction))
    cells = []
    for low, high in BINS:
        inside = [missed for distance, missed in rows if low <= distance < high or distance == high == np.inf]
        cells.append(f"[{low:g}, {high:g}) {sum(inside)} of {len(inside)} missed")
    print(f"{prediction}: {sum(m for _, m in rows)} of {len(rows)} missed; nearest other deposit " + "; ".join(cells))
