"""After round 40's choice (a diagnostic, not a selection): the iron lesions that W keeps and 0.5.4
does not (added) and the reverse (dropped), per cohort, counted by outcome and, for false ones, the
mimic they lie on, from `deepmir evaluate`'s lesions.csv (round 39's extra.py lists them one by one).
Round 41 imports `differ` for its own candidate (its differ.py); round 42 names its candidate's folder.

python differ.py SEED...    (in /tmp/s41, after run.sh, and run_heldout.sh for the held-out seed; differ.txt)
python differ.py --candidate y SEED...    (round 42's Y, in /tmp/s43)
"""
import csv
import sys
from collections import Counter


def kept_iron(folder: str) -> dict[tuple, dict]:
    """The predicted iron lesions of an evaluation (TP and FP rows): a true one by the reference deposit it
    found, a false one by its centroid rounded to a voxel (round 41: with another proposal the same
    deposit's component, and so its centroid, can differ by a fraction of a voxel)."""
    def key(r: dict) -> tuple:
        if r["outcome"] == "TP":
            return r["participant"], "TP", r["ref_centroid_i"], r["ref_centroid_j"], r["ref_centroid_k"]
        return r["participant"], "FP", *(round(float(r[f"pred_centroid_{a}"])) for a in "ijk")

    with open(f"{folder}/lesions.csv") as table:
        return {key(r): r for r in csv.DictReader(table) if r["class"] == "2" and r["outcome"] != "FN"}


def kinds(rows) -> str:
    counts = Counter(r["outcome"] + ("" if r["outcome"] == "TP" else f" on {r['mimic'] or 'no mimic'}") for r in rows)
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) or "none"


def differ(seed: str, folder: str = "w") -> str:
    """One cohort's line: what the candidate in eval-SEED-<folder> keeps that 0.5.4 does not, and the reverse."""
    base, candidate = kept_iron(f"eval-{seed}-m054"), kept_iron(f"eval-{seed}-{folder}")
    added = [candidate[k] for k in candidate.keys() - base.keys()]
    dropped = [base[k] for k in base.keys() - candidate.keys()]
    label = folder.upper()
    return f"{seed}: {label} adds {kinds(added)}; {label} drops {kinds(dropped)}"


if __name__ == "__main__":
    args = sys.argv[1:]
    folder = "w"
    if args[:1] == ["--candidate"]:
        folder, args = args[1], args[2:]
    for seed in args:
        print(differ(seed, folder))
