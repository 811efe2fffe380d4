"""How far chance moves the selection rule's figures: per class, the pooled F1 of a base model and
of a candidate on one cohort, their difference, and 95 % intervals from resampling the cohort's
participants (2000 resamples, numpy seed 0; the same participants for both models: paired).
Per-participant TP / FP / FN come from `deepmir evaluate`'s per_participant.csv. Analysis only;
round 23's choose_h.py pools several cohorts through `paired`.

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


def paired(base_folders: list[str], candidate_folders: list[str], key: str) -> dict:
    """Pooled F1 of class `key` over the participants of all `base_folders` and of the matching
    `candidate_folders`, the difference, and 95 % intervals of the base's F1 (as an offset) and of
    the difference, the participants resampled together."""
    base, candidate = {}, {}
    for base_folder, candidate_folder in zip(base_folders, candidate_folders, strict=True):
        base.update(counts(base_folder)[key])
        candidate.update(counts(candidate_folder)[key])
    participants = sorted(base)
    assert participants == sorted(candidate), "the folders hold other participants"
    a = np.stack([base[p] for p in participants])
    b = np.stack([candidate[p] for p in participants])
    draws = np.random.default_rng(0).integers(0, len(participants), (2000, len(participants)))
    f1_a, f1_b = pooled_f1(a[draws]), pooled_f1(b[draws])
    return {"base": float(pooled_f1(a)), "candidate": float(pooled_f1(b)), "difference": float(pooled_f1(b) - pooled_f1(a)),
            "base_interval": np.percentile(f1_a - pooled_f1(a), [2.5, 97.5]), "interval": np.percentile(f1_b - f1_a, [2.5, 97.5]),
            "participants": len(participants), "reference_lesions": int(a[:, 0].sum() + a[:, 2].sum())}


def interval(values) -> str:
    return f"[{values[0]:+.3f}, {values[1]:+.3f}]"


if __name__ == "__main__":
    for base_folder, candidate_folder in zip(sys.argv[1::2], sys.argv[2::2]):
        print(f"{candidate_folder} against {base_folder}")
        for key in CLASSES.values():
            r = paired([base_folder], [candidate_folder], key)
            print(f"  {key}: F1 {r['base']:.3f} {interval(r['base_interval'])} -> {r['candidate']:.3f}; "
                  f"difference {r['difference']:+.3f} {interval(r['interval'])} (paired); "
                  f"{r['participants']} participants, {r['reference_lesions']} reference lesions")
