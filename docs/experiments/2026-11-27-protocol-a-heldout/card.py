"""Add round 19's held-out figures to the default 0.5.3's card (metrics.held_out), from the
`deepmir evaluate` folders of sims.sh; nothing else in the card changes.

python card.py   (in /tmp/s25)
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-27-long-echo-unet"))
from bundling import check, cohort_metrics

A = "--spacing 0.8 0.8 2.0 --size 240 320 78 --echo-times 20 28 36 44 --b0 0 0.173648 0.984808 --noise-scale 1.5 --gre-bias 0.2"
path = Path(__file__).resolve().parents[3] / "Resources" / "models" / "deepmir-multiclass-sim-w16.json"
card = json.loads(path.read_text())
assert card["version"] == "0.5.3" and "held_out" not in card["metrics"]
card["metrics"]["held_out"] = {
    "data": ("SIMULATED cohorts (paper lesion load) whose seeds no training, calibration or choice used, predicted by 0.5.3 "
             "after it shipped (docs/experiments/2026-11-27-protocol-a-heldout); participant means +- SEM and pooled counts"),
    "nominal_protocol": cohort_metrics("eval-470", "deepmir simulate --n 40 --seed 470"),
    "unseen_protocol": cohort_metrics("eval-1180", f"deepmir simulate --n 40 --seed 1180 {A} (protocol A)"),
}
path.write_text(json.dumps(card, indent=2) + "\n")
check("default")
print("held-out figures added")
