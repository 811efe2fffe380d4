"""Round 17's rule (README, written before any model ran): C95 against 0.5.1 on the selection
cohorts, from `deepmir evaluate`'s summaries (pooled TP / FP / FN).

python choose.py   (in /tmp/s23, after run_cohorts.sh select 1120 1130 440 with MODELS="m051 c95")
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-26-paper-load-calibration"))
from pooled import pooled_f1 as pooled

B, NOMINAL, A = 1120, 440, 1130
base = {seed: pooled(f"eval-{seed}-m051") for seed in (B, NOMINAL, A)}
c95 = {seed: pooled(f"eval-{seed}-c95") for seed in (B, NOMINAL, A)}
checks = {
    f"B {B}: microbleed F1 {base[B]['cmb']:.3f} -> {c95[B]['cmb']:.3f}, at least +0.02": c95[B]["cmb"] >= base[B]["cmb"] + 0.02,
    **{f"{name} {seed}: microbleed F1 {base[seed]['cmb']:.3f} -> {c95[seed]['cmb']:.3f}, at most 0.01 lower": c95[seed]["cmb"] >= base[seed]["cmb"] - 0.01
       for name, seed in (("nominal", NOMINAL), ("A", A))},
    **{f"{seed}: iron F1 {base[seed]['iron']:.3f} -> {c95[seed]['iron']:.3f}, at most 0.005 lower": c95[seed]["iron"] >= base[seed]["iron"] - 0.005
       for seed in (B, NOMINAL, A)},
    **{f"{seed}: mimic FP per participant {base[seed]['mimic']:.2f} -> {c95[seed]['mimic']:.2f}, at most {max(0.2, base[seed]['mimic']):.2f}":
       c95[seed]["mimic"] <= max(0.2, base[seed]["mimic"]) + 1e-9 for seed in (B, NOMINAL, A)},
}
for text, holds in checks.items():
    print(("holds   " if holds else "FAILS   ") + text)
print("CHOSEN: C95" if all(checks.values()) else "CHOSEN: nothing (0.5.1's microbleed classifier stays)")
