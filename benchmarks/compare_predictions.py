"""Compare two `deepmir predict --input` output folders of the same cohort, participant by
participant: lesion counts per class (cohort.tsv), label voxels that differ, and lesions
(26-connected components of each class) of one map with no voxel of their class in the other.
Used to compare runtimes (e.g. onnxruntime against onnxruntime-int8; BENCHMARKS.md).

    python benchmarks/compare_predictions.py pred-f32 pred-int8
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage


def cohort_rows(folder: Path) -> dict[str, dict]:
    with open(folder / "cohort.tsv", encoding="utf-8") as handle:
        return {row["participant"]: row for row in csv.DictReader(handle, delimiter="\t")}


def unmatched(labels: np.ndarray, other: np.ndarray) -> int:
    """Lesions of `labels` (per class, 26-connected) with no voxel of their class in `other`."""
    count = 0
    for label in (1, 2):
        components, n = ndimage.label(labels == label, np.ones((3, 3, 3)))
        count += sum(not (other[components == index] == label).any() for index in range(1, n + 1))
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("one", type=Path)
    parser.add_argument("other", type=Path)
    args = parser.parse_args()
    one, other = cohort_rows(args.one), cohort_rows(args.other)
    print("| participant | CMB (one) | CMB (other) | iron (one) | iron (other) | label voxels differing | lesion voxels of either | lesions only in one | only in other |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    same, totals = 0, np.zeros(4, dtype=int)
    for participant in sorted(one):
        a = sitk.GetArrayFromImage(sitk.ReadImage(str(args.one / participant / "labels.nii.gz")))
        b = sitk.GetArrayFromImage(sitk.ReadImage(str(args.other / participant / "labels.nii.gz")))
        counts = [(row["n_cmb"], row["n_iron"]) for row in (one[participant], other[participant])]
        same += counts[0] == counts[1]
        row = np.array([(a != b).sum(), ((a > 0) | (b > 0)).sum(), unmatched(a, b), unmatched(b, a)])
        totals += row
        print(f"| {participant} | {counts[0][0]} | {counts[1][0]} | {counts[0][1]} | {counts[1][1]} | {' | '.join(map(str, row))} |"
              + ("" if counts[0] == counts[1] else " counts differ"))
    print(f"participants with the same counts per class: {same} of {len(one)}; label voxels differing {totals[0]} of {totals[1]} "
          f"lesion voxels; lesions only in one {totals[2]}, only in other {totals[3]}")


if __name__ == "__main__":
    main()
