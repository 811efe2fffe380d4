"""Paired bootstrap over participants of the pooled F1 difference (second minus first) per
class, from two `deepmir evaluate` folders of the same cohort.

python bootstrap.py eval-770-042 eval-770-a
"""
import csv
import sys
from pathlib import Path

import numpy as np

CLASSES = {"1": "cmb", "2": "iron"}


def counts(folder):
    table = {}
    with open(Path(folder, "per_participant.csv")) as handle:
        for row in csv.DictReader(handle):
            table.setdefault(row["participant"], {})[CLASSES[row["class"]]] = [int(row[k]) for k in ("tp", "fp", "fn")]
    return table


def f1(tp, fp, fn):
    return 2 * tp / max(2 * tp + fp + fn, 1)


first, second = counts(sys.argv[1]), counts(sys.argv[2])
participants = sorted(first)
assert participants == sorted(second), "the two folders hold different participants"
rng = np.random.default_rng(0)
draws = rng.integers(0, len(participants), size=(2000, len(participants)))
for key in ("cmb", "iron"):
    a = np.array([first[p].get(key, [0, 0, 0]) for p in participants])
    b = np.array([second[p].get(key, [0, 0, 0]) for p in participants])
    observed = f1(*b.sum(0)) - f1(*a.sum(0))
    differences = [f1(*b[d].sum(0)) - f1(*a[d].sum(0)) for d in draws]
    low, high = np.percentile(differences, [2.5, 97.5])
    print(f"{key}: F1 {f1(*a.sum(0)):.3f} -> {f1(*b.sum(0)):.3f}, difference {observed:+.3f}, 95 % interval [{low:+.3f}, {high:+.3f}]")
