"""Round 11's rule (README, written before any model ran): I against 0.5.0 on the selection
cohorts, from `deepmir evaluate`'s summaries (pooled TP / FP / FN).

python choose.py   (in /tmp/s19, after run_select.sh)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-26-paper-load-calibration"))
from pooled import pooled_f1 as pooled

base = {seed: pooled(f"eval-{seed}-m050") for seed in (360, 1050)}
i = {seed: pooled(f"eval-{seed}-i") for seed in (360, 1050)}
checks = {
    "1050 iron F1 at least 0.02 higher": i[1050]["iron"] - base[1050]["iron"] >= 0.02,
    "360 iron F1 at most 0.01 lower": i[360]["iron"] - base[360]["iron"] >= -0.01,
}
for seed in (360, 1050):
    checks[f"{seed} microbleed F1 at most 0.005 lower"] = i[seed]["cmb"] - base[seed]["cmb"] >= -0.005
    checks[f"{seed} mimic FP per participant at most 0.05 higher"] = i[seed]["mimic"] - base[seed]["mimic"] <= 0.05 + 1e-9
for seed in (360, 1050):
    print(f"{seed}: 0.5.0 " + ", ".join(f"{k} {v:.3f}" for k, v in base[seed].items()) + "; I " + ", ".join(f"{k} {v:.3f}" for k, v in i[seed].items()))
for name, ok in checks.items():
    print(f"{'holds' if ok else 'FAILS'}: {name}")
print("I becomes the default 0.5.1" if all(checks.values()) else "0.5.0 stays the default; nothing ships")
