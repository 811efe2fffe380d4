"""Round 24's rule (README, written before any model ran on the cohorts): J against 0.5.3 on the
selection cohorts 570 (nominal, 40), 1300 (protocol T, 20) and 1310 (protocol B, 20), from
`deepmir evaluate`'s folders eval-SEED-m053 and eval-SEED-j. The rule is round 23's
(../2026-11-27-microbleed-classifier-iron/choose_h.py) for another candidate and other cohorts.

python choose.py    (in /tmp/s29, after run_cohorts.sh select 570 1300 1310)
"""
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here.parent / "2026-11-26-paper-load-calibration"))
sys.path.insert(0, str(here.parent / "2026-11-27-iron-classifier-only"))
from paired_f1 import interval, paired
from pooled import pooled_f1 as pooled

SEEDS = {570: "nominal", 1300: "protocol T", 1310: "protocol B"}


def rule(base_name: str, candidate_name: str, label: str) -> bool:
    base = {seed: pooled(f"eval-{seed}-{base_name}") for seed in SEEDS}
    candidate = {seed: pooled(f"eval-{seed}-{candidate_name}") for seed in SEEDS}
    together = paired([f"eval-{seed}-{base_name}" for seed in SEEDS], [f"eval-{seed}-{candidate_name}" for seed in SEEDS], "iron")
    n = together["participants"]
    checks = {f"all {n}: iron F1 at least 0.01 higher": together["difference"] >= 0.01 - 1e-9,
              f"all {n}: the paired 95 % interval of that difference above -0.01": together["interval"][0] > -0.01}
    for seed in SEEDS:
        checks[f"{seed} iron F1 at most 0.02 lower"] = candidate[seed]["iron"] - base[seed]["iron"] >= -0.02 - 1e-9
        checks[f"{seed} microbleed F1 within 0.005"] = abs(candidate[seed]["cmb"] - base[seed]["cmb"]) <= 0.005 + 1e-9
        checks[f"{seed} mimic FP per participant at most 0.05 higher"] = candidate[seed]["mimic"] - base[seed]["mimic"] <= 0.05 + 1e-9
    for seed, cohort in SEEDS.items():
        print(f"{seed} ({cohort}): 0.5.3 " + ", ".join(f"{k} {v:.3f}" for k, v in base[seed].items())
              + f"; {label} " + ", ".join(f"{k} {v:.3f}" for k, v in candidate[seed].items()))
    print(f"all {n}, iron: 0.5.3 {together['base']:.3f}, {label} {together['candidate']:.3f}, difference {together['difference']:+.3f} "
          f"{interval(together['interval'])} (paired, {n} participants, {together['reference_lesions']} deposits)")
    for check, ok in checks.items():
        print(f"{'holds' if ok else 'FAILS'}: {check}")
    return all(checks.values())


if __name__ == "__main__":
    print("J is chosen" if rule("m053", "j", "J") else "0.5.3 stays the default; nothing ships")
