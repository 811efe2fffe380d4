"""How often a predicted lesion is true, by its second-stage probability (lesions.tsv's
second_stage_prob) and, for comparison, by the U-Net's prob_max: each predicted lesion is a
true positive where `deepmir evaluate`'s matching (metrics.evaluate_participant, the paper's
tolerances) pairs it with a reference lesion of its class, else a false positive.

python confidence.py PREDICTIONS REFERENCES [PREDICTIONS REFERENCES ...]
"""
import itertools
import sys
from pathlib import Path

import numpy as np

from DeepMIRLib.lesions import read_lesions
from DeepMIRLib.metrics import class_components, evaluate_participant
from DeepMIRLib.volumes import read_volume

BINS = (0.0, 0.9, 0.95, 0.99, 0.999, 1.0001)
CLASSES = {1: "microbleeds", 2: "iron deposits"}


def lesion_truth(prediction_folder: Path, reference_folder: Path):
    """(label, second_stage_prob, prob_max, true?) of every predicted lesion of the cohort."""
    rows = []
    for folder in sorted(p for p in prediction_folder.iterdir() if (p / "lesions.tsv").is_file()):
        prediction = read_volume(folder / "labels.nii.gz")
        results = evaluate_participant(prediction, read_volume(reference_folder / folder.name / "labels.nii.gz"))
        lesions = read_lesions(folder / "lesions.tsv")
        for label, result in results.items():
            centroids = class_components(prediction, label)[1]
            false = {tuple(np.round(centroids[k], 3)) for k in result.unmatched}
            mine = [(label, lesion.second_stage_prob, lesion.prob_max, tuple(np.round(lesion.centroid_index, 3)) not in false)
                    for lesion in lesions if lesion.label == label]
            assert len(mine) == result.n_pred and sum(not true for *_, true in mine) == result.fp, (folder, label)
            rows += mine
    return rows


def table(rows, column: int, name: str) -> str:
    lines = [f"| {name} | " + " | ".join(CLASSES.values()) + " |", "| --- | --- | --- |"]
    for low, high in itertools.pairwise(BINS):
        cells = []
        for label in CLASSES:
            inside = [r[3] for r in rows if r[0] == label and low <= r[column] < high]
            cells.append(f"{sum(inside)} of {len(inside)}" + (f" ({np.mean(inside):.3f})" if inside else ""))
        lines.append(f"| [{low:g}, {min(high, 1):g}{']' if high > 1 else ')'} | " + " | ".join(cells) + " |")
    missing = {label: sum(1 for r in rows if r[0] == label and np.isnan(r[column])) for label in CLASSES}
    lines.append("| none | " + " | ".join(f"{n}" for n in missing.values()) + " |")
    return "\n".join(lines)


for prediction_folder, reference_folder in zip(sys.argv[1::2], sys.argv[2::2]):
    rows = lesion_truth(Path(prediction_folder), Path(reference_folder))
    print(f"## {prediction_folder} against {reference_folder}: {len(rows)} predicted lesions; true of all in each bin (precision)\n")
    print(table(rows, 1, "second_stage_prob"), "\n")
    print(table(rows, 2, "U-Net prob_max"), "\n")
