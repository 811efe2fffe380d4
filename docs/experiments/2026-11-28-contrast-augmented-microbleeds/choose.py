"""Round 29's rule (README, written before any model ran on the cohorts): H (0.5.3 with its
microbleed classifier trained further with random contrast) against 0.5.3 on the selection
cohorts 650 (nominal, 20) and 1430 (protocol B, 20), from `deepmir evaluate`'s folders
eval-SEED-m053 and eval-SEED-h.

python choose.py    (in /tmp/s33, after run_cohorts.sh select 650 1430)
"""
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here.parent / "2026-11-26-paper-load-calibration"))
sys.path.insert(0, str(here.parent / "2026-11-27-iron-classifier-only"))
from paired_f1 import interval, paired
from pooled import pooled_f1 as pooled


def rule(nominal: int = 650, long_echo: int = 1430, name: str = "h", label: str = "H") -> bool:
    """The rule on the evaluation folders eval-SEED-m053 and eval-SEED-NAME (round 30 reuses it)."""
    base = {seed: pooled(f"eval-{seed}-m053") for seed in (nominal, long_echo)}
    candidate = {seed: pooled(f"eval-{seed}-{name}") for seed in (nominal, long_echo)}
    checks = {f"{long_echo} (protocol B) microbleed F1 at least 0.02 higher": candidate[long_echo]["cmb"] - base[long_echo]["cmb"] >= 0.02 - 1e-9,
              f"{nominal} (nominal) microbleed F1 at most 0.01 lower": candidate[nominal]["cmb"] - base[nominal]["cmb"] >= -0.01 - 1e-9}
    for seed in (nominal, long_echo):
        checks[f"{seed} iron F1 at most 0.005 lower"] = candidate[seed]["iron"] - base[seed]["iron"] >= -0.005 - 1e-9
        allowed = max(0.2, base[seed]["mimic"] + 0.05)
        checks[f"{seed} mimic FP per participant at most {allowed:.2f}"] = candidate[seed]["mimic"] <= allowed + 1e-9
        print(f"{seed}: 0.5.3 " + ", ".join(f"{k} {v:.3f}" for k, v in base[seed].items())
              + f"; {label} " + ", ".join(f"{k} {v:.3f}" for k, v in candidate[seed].items()))
    for seed in (nominal, long_echo):
        r = paired([f"eval-{seed}-m053"], [f"eval-{seed}-{name}"], "cmb")
        print(f"{seed} microbleeds: difference {r['difference']:+.3f} {interval(r['interval'])} (paired, {r['participants']} participants)")
    for check, ok in checks.items():
        print(f"{'holds' if ok else 'FAILS'}: {check}")
    return all(checks.values())


if __name__ == "__main__":
    print("H is chosen" if rule() else "0.5.3 stays the default; nothing ships")
