"""Round 49's selection rule (README, written before any model ran on the selection cohorts): K against 0.5.6 on
2290 (nominal), 2300 (protocol B) and 2310 (varied protocols), from `deepmir evaluate`'s folders eval-SEED-m056 and
eval-SEED-k (pooled TP / FP / FN).

python choose.py   (in /tmp/s49, after run.sh select; choose.txt)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-26-paper-load-calibration"))
from pooled import pooled_f1

NOMINAL, LONG_ECHO, VARIED = 2290, 2300, 2310
SEEDS = (NOMINAL, LONG_ECHO, VARIED)
base = {seed: pooled_f1(f"eval-{seed}-m056") for seed in SEEDS}
candidate = {seed: pooled_f1(f"eval-{seed}-k") for seed in SEEDS}
gain = {(seed, key): candidate[seed][key] - base[seed][key] for seed in SEEDS for key in ("cmb", "iron")}
checks = {f"{LONG_ECHO} cmb F1 at least 0.02 higher ({gain[LONG_ECHO, 'cmb']:+.3f})": gain[LONG_ECHO, "cmb"] >= 0.02 - 1e-9}
for (seed, key), value in gain.items():
    if (seed, key) != (LONG_ECHO, "cmb"):
        checks[f"{seed} {key} F1 at most 0.01 lower ({value:+.3f})"] = value >= -0.01 - 1e-9
for seed in SEEDS:
    more = candidate[seed]["mimic"] - base[seed]["mimic"]
    checks[f"{seed} mimic FP per participant at most 0.05 higher ({more:+.2f})"] = more <= 0.05 + 1e-9
for seed in SEEDS:
    print(f"{seed}: 0.5.6 " + ", ".join(f"{k} {v:.3f}" for k, v in base[seed].items())
          + "; K " + ", ".join(f"{k} {v:.3f}" for k, v in candidate[seed].items()))
for name, ok in checks.items():
    print(f"{'holds' if ok else 'FAILS'}: {name}")
print("K is chosen" if all(checks.values()) else "0.5.6 stays the default; nothing ships")
