"""Round 50's selection rule (README, written before any model ran on the selection cohort): the model with the chosen
boundary (eval-2360-t) against 0.5.6 (eval-2360-m056) on 2360, pooled counts.

python choose.py   (in /tmp/s49; choose.txt)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-26-paper-load-calibration"))
from pooled import pooled_f1

base, candidate = pooled_f1("eval-2360-m056"), pooled_f1("eval-2360-t")
checks = {
    f"iron F1 at least 0.02 higher ({candidate['iron'] - base['iron']:+.3f})": candidate["iron"] - base["iron"] >= 0.02 - 1e-9,
    f"microbleed F1 at most 0.01 lower ({candidate['cmb'] - base['cmb']:+.3f})": candidate["cmb"] - base["cmb"] >= -0.01 - 1e-9,
    f"mimic FP per participant at most 0.05 higher ({candidate['mimic'] - base['mimic']:+.2f})": candidate["mimic"] - base["mimic"] <= 0.05 + 1e-9,
}
print("2360: 0.5.6 " + ", ".join(f"{k} {v:.3f}" for k, v in base.items()) + "; T " + ", ".join(f"{k} {v:.3f}" for k, v in candidate.items()))
for name, ok in checks.items():
    print(f"{'holds' if ok else 'FAILS'}: {name}")
print("T is chosen" if all(checks.values()) else "0.5.6 stays the default; nothing ships")
