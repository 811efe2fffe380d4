"""Round 31 diagnostic: how many of E's lesions differ (class or centroid, lesions.tsv) between E told each
participant's true echo time (pred-SEED-e) and told the other protocol's (pred-swap-SEED, swap.sh).

python changed.py 690 1490    (in /tmp/s34)
"""
import csv
import sys
from pathlib import Path


def lesions(path: Path) -> set:
    with open(path, newline="") as handle:
        return {(r["class"], r["centroid_i"], r["centroid_j"], r["centroid_k"]) for r in csv.DictReader(handle, delimiter="\t")}


for seed in sys.argv[1:]:
    true_echo = sorted(Path(f"pred-{seed}-e").glob("sim-*/lesions.tsv"))
    pairs = [(lesions(p), lesions(Path(f"pred-swap-{seed}") / p.parent.name / p.name)) for p in true_echo]
    print(f"{seed}: {len(true_echo)} participants, {sum(len(a) for a, _ in pairs)} lesions told the true echo time, "
          f"{sum(len(b) for _, b in pairs)} told the other; {sum(len(a ^ b) for a, b in pairs)} found in one and not the other")
