"""Round 32's rule (README, written before any model ran on its cohorts): F (0.5.3 with a
microbleed minimum for SWI echo times from 15 ms) against 0.5.3 on the selection cohort 1520
(protocol B, 20), from `deepmir evaluate`'s folders eval-1520-m053 and eval-1520-f. Round 29's
rule on its long-echo cohort; its nominal condition holds by construction (README).

python choose.py    (in /tmp/s35, after run.sh)
"""
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here.parent / "2026-11-26-paper-load-calibration"))
sys.path.insert(0, str(here.parent / "2026-11-27-iron-classifier-only"))
from paired_f1 import interval, paired
from pooled import pooled_f1 as pooled


def rule(seed: int = 1520, name: str = "f", label: str = "F", base: str = "m053", base_label: str = "0.5.3") -> bool:
    """The rule for `name` against `base` (round 47 gives 0.5.6, m056) on eval-SEED-NAME folders."""
    before, candidate = pooled(f"eval-{seed}-{base}"), pooled(f"eval-{seed}-{name}")
    allowed = max(0.2, before["mimic"] + 0.05)
    checks = {f"{seed} (protocol B) microbleed F1 at least 0.02 higher": candidate["cmb"] - before["cmb"] >= 0.02 - 1e-9,
              f"{seed} iron F1 at most 0.005 lower": candidate["iron"] - before["iron"] >= -0.005 - 1e-9,
              f"{seed} mimic FP per participant at most {allowed:.2f}": candidate["mimic"] <= allowed + 1e-9}
    print(f"{seed}: {base_label} " + ", ".join(f"{k} {v:.3f}" for k, v in before.items())
          + f"; {label} " + ", ".join(f"{k} {v:.3f}" for k, v in candidate.items()))
    r = paired([f"eval-{seed}-{base}"], [f"eval-{seed}-{name}"], "cmb")
    print(f"{seed} microbleeds: difference {r['difference']:+.3f} {interval(r['interval'])} (paired, {r['participants']} participants)")
    for check, ok in checks.items():
        print(f"{'holds' if ok else 'FAILS'}: {check}")
    return all(checks.values())


if __name__ == "__main__":
    print("F is chosen" if rule() else "0.5.3 stays the default; nothing ships")
