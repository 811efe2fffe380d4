"""How far chance moves the selection rule's figures: per class, the pooled F1 of a base model and
of a candidate on one cohort, their difference, and 95 % intervals from resampling the cohort's
participants (2000 resamples, numpy seed 0; the same participants for both models: paired).
Per-participant TP / FP / FN come from `deepmir evaluate`'s per_participant.csv. Analysis only.

python paired_f1.py eval-1250-m053 eval-1250-g [BASE CANDIDATE ...]
"""
import csv
import sys
from pathlib import Path

import numpy as np

CLASSES = {"1": "cmb", "2": "iron"}


def counts(folder: str) -> dict[str, dict[str, np.ndarray]]:
    """class key -> participant -> (tp, fp, fn)."""
    table = {key: {} for key in CLASSES.values()}
    with open(Path(folder, "per_participant.csv")) as handle:
        for row in csv.DictReader(handle):
            table[CLASSES[row["class"]]][row["participant"]] = np.array([int(row["tp"]), int(row["fp"]), int(row["fn"])])
    return table


def pooled_f1(rows: np.ndarray) -> np.ndarray:
    """rows (..., participants, 3) -> pooled F1 over the participants axis."""
    tp, fp, fn = np.moveaxis(rows.sum(axis=-2), -1, 0)
    return 2 * tp / np.maximum(2 * tp + fp + fn, 1)


def interval(values: np.ndarray) -> str:
    low, high = np.percentile(values, [2.5, 97.5])
    return f"[{low:+.3f}, {high:+.3f}]"


for base_folder, candidate_folder in zip(sys.argv[1::2], sys.argv[2::2]):
    base, candidate = counts(base_folder), counts(candidate_folder)
    print(f"{candidate_folder} against {base_folder}")
    for key in CLASSES.values():
        participants = sorted(base[key])
        assert participants == sorted(candidate[key]), "the two folders hold other participants"
        a = np.stack([base[key][p] for p in participants])
        b = np.stack([candidate[key][p] for p in participants])
        draws = np.random.default_rng(0).integers(0, len(participants), (2000, len(participants)))
        f1_a, f1_b = pooled_f1(a[draws]), pooled_f1(b[draws])
        print(f"  {key}: F1 {pooled_f1(a):.3f} {interval(f1_a - pooled_f1(a))} -> {pooled_f1(b):.3f}; "
              f"difference {pooled_f1(b) - pooled_f1(a):+.3f} {interval(f1_b - f1_a)} (paired); "
              f"{len(participants)} participants, {int(a[:, 0].sum() + a[:, 2].sum())} reference lesions")
