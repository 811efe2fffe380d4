"""Round 20's rule (README, written before any model ran on the cohorts): D against 0.5.3 on the
selection cohorts, from `deepmir evaluate`'s summaries (pooled TP / FP / FN).

python choose.py   (in /tmp/s26, after run_cohorts.sh select 1210 480 1120)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-26-paper-load-calibration"))
from pooled import pooled_f1 as pooled

SEEDS = {1210: "protocol T, paper load", 480: "nominal", 1120: "protocol B"}
base = {seed: pooled(f"eval-{seed}-m053") for seed in SEEDS}
d = {seed: pooled(f"eval-{seed}-d") for seed in SEEDS}
gain = {k: d[1210][k] - base[1210][k] for k in ("cmb", "iron")}
checks = {"1210 microbleed F1 + iron F1 at least 0.02 higher": gain["cmb"] + gain["iron"] >= 0.02 - 1e-9}
for seed in SEEDS:
    for k in ("cmb", "iron"):
        checks[f"{seed} {k} F1 at most 0.01 lower"] = d[seed][k] - base[seed][k] >= -0.01 - 1e-9
    checks[f"{seed} mimic FP per participant at most 0.05 higher"] = d[seed]["mimic"] - base[seed]["mimic"] <= 0.05 + 1e-9
for seed, name in SEEDS.items():
    print(f"{seed} ({name}): 0.5.3 " + ", ".join(f"{k} {v:.3f}" for k, v in base[seed].items())
          + "; D " + ", ".join(f"{k} {v:.3f}" for k, v in d[seed].items()))
for name, ok in checks.items():
    print(f"{'holds' if ok else 'FAILS'}: {name}")
print("D becomes the default 0.5.4" if all(checks.values()) else "0.5.3 stays the default; nothing ships")
