"""Round 45's rule (README, written before any model ran): P against 0.5.5 on the selection
cohorts 2180 (nominal) and 2190 (varied protocols), from `deepmir evaluate`'s folders
eval-SEED-m055 and eval-SEED-p (pooled TP / FP / FN).

python choose.py   (in /tmp/s45, after run_cohorts.sh select 2180 2190; choose.txt)
python choose.py CANDIDATE NOMINAL_SEED VARIED_SEED   (round 46: r 2230 2240, folders eval-SEED-CANDIDATE)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-26-paper-load-calibration"))
from pooled import pooled_f1

NAME, *SEEDS = sys.argv[1:] if len(sys.argv) > 1 else ("p", "2180", "2190")
SEEDS = tuple(int(seed) for seed in SEEDS)
base = {seed: pooled_f1(f"eval-{seed}-m055") for seed in SEEDS}
candidate = {seed: pooled_f1(f"eval-{seed}-{NAME}") for seed in SEEDS}
f1_gain = {(seed, key): candidate[seed][key] - base[seed][key] for seed in SEEDS for key in ("cmb", "iron")}
checks = {f"the four F1s sum to at least 0.02 more ({sum(f1_gain.values()):+.3f})": sum(f1_gain.values()) >= 0.02 - 1e-9}
for (seed, key), gain in f1_gain.items():
    checks[f"{seed} {key} F1 at most 0.01 lower ({gain:+.3f})"] = gain >= -0.01 - 1e-9
for seed in SEEDS:
    gain = candidate[seed]["mimic"] - base[seed]["mimic"]
    checks[f"{seed} mimic FP per participant at most 0.05 higher ({gain:+.2f})"] = gain <= 0.05 + 1e-9
for seed in SEEDS:
    print(f"{seed}: 0.5.5 " + ", ".join(f"{k} {v:.3f}" for k, v in base[seed].items())
          + f"; {NAME.upper()} " + ", ".join(f"{k} {v:.3f}" for k, v in candidate[seed].items()))
for name, ok in checks.items():
    print(f"{'holds' if ok else 'FAILS'}: {name}")
print(f"{NAME.upper()} is chosen" if all(checks.values()) else "0.5.5 stays the default; nothing ships")
