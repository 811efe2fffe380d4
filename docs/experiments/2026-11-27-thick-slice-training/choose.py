"""Round 20's rule (README, written before any model ran on the cohorts): candidate D against
0.5.3 on the selection cohorts, from `deepmir evaluate`'s summaries (pooled TP / FP / FN).
Round 21 applies the same rule to its candidate E on its own cohorts.

python choose.py                      (in /tmp/s26, after run_cohorts.sh select 1210 480 1120)
python choose.py e 1230 510 1240      (round 21: candidate, protocol T, nominal and protocol B seeds)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-26-paper-load-calibration"))
from pooled import pooled_f1 as pooled

candidate, t_seed, nominal_seed, b_seed = (sys.argv[1], *map(int, sys.argv[2:5])) if len(sys.argv) > 1 else ("d", 1210, 480, 1120)
name = candidate.upper()
SEEDS = {t_seed: "protocol T, paper load", nominal_seed: "nominal", b_seed: "protocol B"}
base = {seed: pooled(f"eval-{seed}-m053") for seed in SEEDS}
d = {seed: pooled(f"eval-{seed}-{candidate}") for seed in SEEDS}
gain = {k: d[t_seed][k] - base[t_seed][k] for k in ("cmb", "iron")}
checks = {f"{t_seed} microbleed F1 + iron F1 at least 0.02 higher": gain["cmb"] + gain["iron"] >= 0.02 - 1e-9}
for seed in SEEDS:
    for k in ("cmb", "iron"):
        checks[f"{seed} {k} F1 at most 0.01 lower"] = d[seed][k] - base[seed][k] >= -0.01 - 1e-9
    checks[f"{seed} mimic FP per participant at most 0.05 higher"] = d[seed]["mimic"] - base[seed]["mimic"] <= 0.05 + 1e-9
for seed, cohort in SEEDS.items():
    print(f"{seed} ({cohort}): 0.5.3 " + ", ".join(f"{k} {v:.3f}" for k, v in base[seed].items())
          + f"; {name} " + ", ".join(f"{k} {v:.3f}" for k, v in d[seed].items()))
for check, ok in checks.items():
    print(f"{'holds' if ok else 'FAILS'}: {check}")
print(f"{name} is chosen" if all(checks.values()) else "0.5.3 stays the default; nothing ships")
