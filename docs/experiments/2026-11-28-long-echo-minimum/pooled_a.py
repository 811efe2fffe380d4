"""Round 32: 0.5.3 and F (0.5.4) pooled over the fresh protocol A cohorts measured after the
choice (by default 1510, 1530, 1540; 40 participants), with the paired bootstrap of the
microbleed F1 difference over participants (round 29's paired_f1.py), and with more than three
cohorts also each model's pooled microbleed sensitivity with a 95 % bootstrap interval over
participants (2000 resamples, numpy seed 0).

python pooled_a.py [SEED ...]    (in /tmp/s35, after run_heldout.sh and sims_a2.sh; sims_a3.sh for 1550 and 1560)
"""
import csv
import json
import sys
from pathlib import Path

import numpy as np

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here.parent / "2026-11-27-iron-classifier-only"))
from paired_f1 import interval, paired

SEEDS = tuple(int(s) for s in sys.argv[1:]) or (1510, 1530, 1540)
for model in ("m053", "f"):
    totals = {"cmb": [0, 0, 0], "iron": [0, 0, 0]}
    mimics = participants = 0
    for seed in SEEDS:
        summary = json.loads(Path(f"eval-{seed}-{model}", "summary.json").read_text())
        for key, counts in totals.items():
            totals[key] = [a + summary[key]["summary"][k] for a, k in zip(counts, ("tp", "fp", "fn"))]
        mimics += sum(summary["false_positives_on_mimics"]["total_by_kind"].values())
        participants += summary["false_positives_on_mimics"]["participants"]
    line = []
    for key, (tp, fp, fn) in totals.items():
        line.append(f"{key} {tp} / {fp} / {fn} sensitivity {tp / (tp + fn):.3f} precision {tp / (tp + fp):.3f} F1 {2 * tp / (2 * tp + fp + fn):.3f}")
    print(f"{model} ({participants} participants): " + "; ".join(line) + f"; mimic FP per participant {mimics / participants:.3f}")
r = paired([f"eval-{seed}-m053" for seed in SEEDS], [f"eval-{seed}-f" for seed in SEEDS], "cmb")
print(f"microbleed F1 difference F - 0.5.3 {r['difference']:+.3f} {interval(r['interval'])} (paired, {r['participants']} participants)")


def sensitivity_interval(folders: list[str]) -> tuple[float, float, float]:
    """Pooled microbleed sensitivity over the folders' participants, and its bootstrap interval."""
    rows = [(int(r["tp"]), int(r["fn"])) for folder in folders
            for r in csv.DictReader(Path(folder, "per_participant.csv").read_text().splitlines()) if r["class"] == "1"]
    counts = np.array(rows)
    rng = np.random.default_rng(0)
    draws = [counts[rng.integers(0, len(counts), len(counts))].sum(axis=0) for _ in range(2000)]
    values = [tp / (tp + fn) for tp, fn in draws]
    tp, fn = counts.sum(axis=0)
    return tp / (tp + fn), *np.percentile(values, [2.5, 97.5])


if len(SEEDS) > 3:
    for model in ("m053", "f"):
        value, low, high = sensitivity_interval([f"eval-{seed}-{model}" for seed in SEEDS])
        print(f"{model}: pooled microbleed sensitivity {value:.3f} [{low:.3f}, {high:.3f}]")
