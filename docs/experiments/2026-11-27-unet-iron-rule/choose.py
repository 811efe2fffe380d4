"""Round 9's rule (README, written before any model ran): R against 0.4.4 on the selection
cohorts, from `deepmir evaluate`'s summaries (pooled TP / FP / FN).

python choose.py   (in /tmp/s17, after run_select.sh)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-26-paper-load-calibration"))
from pooled import pooled_f1 as pooled

base = {seed: pooled(f"eval-{seed}-m044") for seed in (320, 1010)}
r = {seed: pooled(f"eval-{seed}-r") for seed in (320, 1010)}
checks = {
    "1010 iron F1 at least 0.01 higher": r[1010]["iron"] - base[1010]["iron"] >= 0.01,
    "320 iron F1 at most 0.01 lower": r[320]["iron"] - base[320]["iron"] >= -0.01,
}
for seed in (320, 1010):
    checks[f"{seed} microbleed F1 at most 0.005 lower"] = r[seed]["cmb"] - base[seed]["cmb"] >= -0.005
    checks[f"{seed} mimic FP per participant at most 0.05 higher"] = r[seed]["mimic"] - base[seed]["mimic"] <= 0.05 + 1e-9
for seed in (320, 1010):
    print(f"{seed}: 0.4.4 " + ", ".join(f"{k} {v:.3f}" for k, v in base[seed].items()) + "; R " + ", ".join(f"{k} {v:.3f}" for k, v in r[seed].items()))
for name, ok in checks.items():
    print(f"{'holds' if ok else 'FAILS'}: {name}")
print("R becomes the default 0.4.5" if all(checks.values()) else "0.4.4 stays the default; nothing ships")
