"""Round 10's rule (README, written before any model ran): U against 0.4.4 on the selection
cohorts, from `deepmir evaluate`'s summaries (pooled TP / FP / FN).

python choose.py   (in /tmp/s18, after run_select.sh)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-26-paper-load-calibration"))
from pooled import pooled_f1 as pooled

base = {seed: pooled(f"eval-{seed}-m044") for seed in (340, 1030)}
u = {seed: pooled(f"eval-{seed}-u") for seed in (340, 1030)}
checks = {
    "1030 microbleed F1 at least 0.02 higher": u[1030]["cmb"] - base[1030]["cmb"] >= 0.02,
    "1030 iron F1 at most 0.01 lower": u[1030]["iron"] - base[1030]["iron"] >= -0.01,
    "340 microbleed F1 at most 0.01 lower": u[340]["cmb"] - base[340]["cmb"] >= -0.01,
    "340 iron F1 at most 0.01 lower": u[340]["iron"] - base[340]["iron"] >= -0.01,
}
for seed in (340, 1030):
    checks[f"{seed} mimic FP per participant at most 0.05 higher"] = u[seed]["mimic"] - base[seed]["mimic"] <= 0.05 + 1e-9
for seed in (340, 1030):
    print(f"{seed}: 0.4.4 " + ", ".join(f"{k} {v:.3f}" for k, v in base[seed].items()) + "; U " + ", ".join(f"{k} {v:.3f}" for k, v in u[seed].items()))
for name, ok in checks.items():
    print(f"{'holds' if ok else 'FAILS'}: {name}")
print("U becomes the default 0.5.0" if all(checks.values()) else "0.4.4 stays the default; nothing ships")
