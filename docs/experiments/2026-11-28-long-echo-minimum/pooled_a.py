"""Round 32: 0.5.3 and F (0.5.4) pooled over the three fresh protocol A cohorts measured after the
choice (1510, 1530, 1540; 40 participants), with the paired bootstrap of the microbleed F1
difference over participants (round 29's paired_f1.py).

python pooled_a.py    (in /tmp/s35, after run_heldout.sh and sims_a2.sh)
"""
import json
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here.parent / "2026-11-27-iron-classifier-only"))
from paired_f1 import interval, paired

SEEDS = (1510, 1530, 1540)
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
