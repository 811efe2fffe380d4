"""After round 39 (a diagnostic, not a selection): the iron lesions V keeps that 0.5.4 does not, per
cohort, from `deepmir evaluate`'s lesions.csv: participant, outcome, the mimic a false one lies on
(empty: none), slice.

python extra.py    (in /tmp/s41, after run.sh and run_heldout.sh; extra.txt)
"""
import csv


def iron_lesions(folder: str) -> list[dict]:
    return [row for row in csv.DictReader(open(f"{folder}/lesions.csv")) if row["class"] == "2"]


def where(row: dict) -> tuple:
    return row["participant"], row["outcome"], row["pred_centroid_i"], row["pred_centroid_j"], row["pred_centroid_k"]


for seed in (1810, 1830, 1820):
    base = {where(row) for row in iron_lesions(f"eval-{seed}-m054")}
    extra = [row for row in iron_lesions(f"eval-{seed}-v") if where(row) not in base and row["outcome"] != "FN"]
    print(seed, ", ".join(f"{row['participant']} {row['outcome']} {row['mimic'] or 'no mimic'} slice {float(row['pred_centroid_k']):.0f}"
                          for row in extra))
