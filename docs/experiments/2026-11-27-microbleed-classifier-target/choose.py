"""Round 14's rule (README, written before the candidate ran): the candidate (C, or CS when round
13 chose S) against round 13's outcome on 410 and 1090, from `deepmir evaluate`'s summaries.

python choose.py CANDIDATE BASE   (in /tmp/s21, e.g. choose.py cs s or choose.py c m051)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-26-paper-load-calibration"))
from pooled import pooled_f1 as pooled

candidate_name, base_name = sys.argv[1], sys.argv[2]


base = {seed: pooled(f"eval-{seed}-{base_name}") for seed in (410, 1090)}
candidate = {seed: pooled(f"eval-{seed}-{candidate_name}") for seed in (410, 1090)}
checks = {
    "1090 microbleed F1 at least 0.02 higher": candidate[1090]["cmb"] - base[1090]["cmb"] >= 0.02,
    "410 microbleed F1 at most 0.01 lower": candidate[410]["cmb"] - base[410]["cmb"] >= -0.01,
}
for seed in (410, 1090):
    checks[f"{seed} iron F1 at most 0.005 lower"] = candidate[seed]["iron"] - base[seed]["iron"] >= -0.005
    checks[f"{seed} mimic FP per participant at most 0.2"] = candidate[seed]["mimic"] <= 0.2 + 1e-9
    checks[f"{seed} mimic FP per participant at most 0.10 higher"] = candidate[seed]["mimic"] - base[seed]["mimic"] <= 0.10 + 1e-9
for seed in (410, 1090):
    print(f"{seed}: {base_name} " + ", ".join(f"{k} {v:.3f}" for k, v in base[seed].items())
          + f"; {candidate_name} " + ", ".join(f"{k} {v:.3f}" for k, v in candidate[seed].items()))
for name, ok in checks.items():
    print(f"{'holds' if ok else 'FAILS'}: {name}")
print(f"{candidate_name} becomes the next default" if all(checks.values()) else f"{base_name} stays; {candidate_name} is not chosen")
