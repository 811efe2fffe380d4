"""The issue's target figures from one `deepmir evaluate` folder, with 95 % intervals from a
bootstrap over participants (2000 resamples, numpy seed 0), on the whole cohort and on
consecutive blocks of 20 participants (the targets' cohort size).

python intervals.py eval-310-044
"""
import csv
import json
import sys
from pathlib import Path

import numpy as np

CLASSES = {"1": "cmb", "2": "iron"}


def read(folder):
    """participant -> {class key: (sensitivity, precision) as float or nan}, and participant -> mimic FPs."""
    rates = {}
    with open(Path(folder, "per_participant.csv")) as handle:
        for row in csv.DictReader(handle):
            if row["class"] in CLASSES:
                value = [float(row[k]) if row[k] != "" else np.nan for k in ("sensitivity", "precision")]
                rates.setdefault(row["participant"], {})[CLASSES[row["class"]]] = value
    mimics = json.loads(Path(folder, "summary.json").read_text())["false_positives_on_mimics"]["by_participant"]
    return rates, {p: sum(counts.values()) for p, counts in mimics.items()}


def figures(rates, mimics, participants):
    """The participant means the targets use: per class sensitivity and precision (undefined
    values left out, as `deepmir evaluate` does), and mimic false positives."""
    out = {}
    for key in ("cmb", "iron"):
        values = np.array([rates[p][key] for p in participants])
        out[f"{key} sensitivity"] = np.nanmean(values[:, 0])
        out[f"{key} precision"] = np.nanmean(values[:, 1])
    out["mimic FP per participant"] = np.mean([mimics[p] for p in participants])
    return out


def report(rates, mimics, participants, label):
    observed = figures(rates, mimics, participants)
    rng = np.random.default_rng(0)
    draws = [figures(rates, mimics, [participants[i] for i in rng.integers(0, len(participants), len(participants))]) for _ in range(2000)]
    print(f"{label} ({len(participants)} participants)")
    for name, value in observed.items():
        low, high = np.nanpercentile([d[name] for d in draws], [2.5, 97.5])
        print(f"  {name}: {value:.3f} [{low:.3f}, {high:.3f}]")


if __name__ == "__main__":
    rates, mimics = read(sys.argv[1])
    participants = sorted(rates)
    report(rates, mimics, participants, sys.argv[1])
    for start in range(0, len(participants), 20):
        block = participants[start:start + 20]
        print(f"  block {start // 20 + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in figures(rates, mimics, block).items()))
