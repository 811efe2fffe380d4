"""Round 12's rule (README, written before any model ran): C against 0.5.1 on the selection
cohorts, from `deepmir evaluate`'s summaries (pooled TP / FP / FN).

python choose.py   (in /tmp/s20, after run_cohorts.sh select 1070 380)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-26-paper-load-calibration"))
from pooled import pooled_f1 as pooled

base = {seed: pooled(f"eval-{seed}-m051") for seed in (380, 1070)}
c = {seed: pooled(f"eval-{seed}-c") for seed in (380, 1070)}
checks = {
    "1070 microbleed F1 at least 0.02 higher": c[1070]["cmb"] - base[1070]["cmb"] >= 0.02,
    "380 microbleed F1 at most 0.01 lower": c[380]["cmb"] - base[380]["cmb"] >= -0.01,
}
for seed in (380, 1070):
    checks[f"{seed} iron F1 at most 0.005 lower"] = c[seed]["iron"] - base[seed]["iron"] >= -0.005
    checks[f"{seed} mimic FP per participant at most 0.05 higher"] = c[seed]["mimic"] - base[seed]["mimic"] <= 0.05 + 1e-9
for seed in (380, 1070):
    print(f"{seed}: 0.5.1 " + ", ".join(f"{k} {v:.3f}" for k, v in base[seed].items()) + "; C " + ", ".join(f"{k} {v:.3f}" for k, v in c[seed].items()))
for name, ok in checks.items():
    print(f"{'holds' if ok else 'FAILS'}: {name}")
print("C becomes the default 0.5.2" if all(checks.values()) else "0.5.1 stays the default; nothing ships")
