"""Round 16's rule (README, written before any model ran on its cohorts), applied to count.py's
selection counts: the table per part and the choice.

python select_rule.py /tmp/s23/counts-select.jsonl > select.txt
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-27-iron-suppression-gap"))
from choose import f1, pooled, print_table

BASE = "none spared (0.5.1)"
CANDIDATES = ("spare >= 8 voxels", "spare >= 6 voxels")  # on a tie, the first (spares fewer)
NOMINAL = {"select-440"}
OTHER = {"select-1120", "select-1130"}
MIN_GAIN = 0.005

rows = [json.loads(line) for line in Path(sys.argv[1]).read_text().splitlines()]
parts = {"pool": rows, "nominal": [r for r in rows if r["cohort"] in NOMINAL], "protocols A and B": [r for r in rows if r["cohort"] in OTHER]}
assert len(parts["nominal"]) == 60 and len(parts["protocols A and B"]) == 40 and len({r["participant"] for r in rows}) == 100
print_table(parts, [BASE, *CANDIDATES], "iron suppression at 5 voxels")
score = {(rule, part): f1(*pooled(part_rows, rule)) for rule in (BASE, *CANDIDATES) for part, part_rows in parts.items()}
best = max(CANDIDATES, key=lambda rule: score[rule, "pool"])  # max keeps the first on a tie
gain = score[best, "pool"] - score[BASE, "pool"]
lower = [part for part in ("nominal", "protocols A and B") if score[best, part] < score[BASE, part]]
print(f"\nbest candidate: {best}, pool iron F1 {score[BASE, 'pool']:.4f} -> {score[best, 'pool']:.4f} ({gain:+.4f}, rule asks >= +{MIN_GAIN})")
print("parts lower than 0.5.1: " + (", ".join(lower) if lower else "none"))
chosen = gain >= MIN_GAIN and not lower
print(f"CHOSEN: {best}" if chosen else "CHOSEN: nothing (0.5.1 stays)")
