"""Round 23's rule (README, written before any model ran on the cohorts): H against 0.5.3 on the
selection cohorts 560 (nominal, 40), 1280 (protocol T, 20) and 1290 (protocol B, 20), from
`deepmir evaluate`'s folders eval-SEED-m053 and eval-SEED-h. Round 24 (../2026-11-28-iron-classifier-extrema)
applies the same `rule` to its own candidate and cohorts.

python choose_h.py    (in /tmp/s28, after run_cohorts.sh select 560 1280 1290)
"""
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here.parent / "2026-11-26-paper-load-calibration"))
sys.path.insert(0, str(here.parent / "2026-11-27-iron-classifier-only"))
from paired_f1 import interval, paired
from pooled import pooled_f1 as pooled

SEEDS = {560: "nominal", 1280: "protocol T", 1290: "protocol B"}


def rule(seeds: dict[int, str], base_name: str, candidate_name: str, label: str, base_label: str = "0.5.3") -> bool:
    """Print the figures and checks of the rule for the model `candidate_name` against `base_name`
    (printed as `base_label`) on the cohorts `seeds` (seed: protocol); True when every check holds."""
    base = {seed: pooled(f"eval-{seed}-{base_name}") for seed in seeds}
    candidate = {seed: pooled(f"eval-{seed}-{candidate_name}") for seed in seeds}
    together = paired([f"eval-{seed}-{base_name}" for seed in seeds], [f"eval-{seed}-{candidate_name}" for seed in seeds], "iron")
    n = together["participants"]
    checks = {f"all {n}: iron F1 at least 0.01 higher": together["difference"] >= 0.01 - 1e-9,
              f"all {n}: the paired 95 % interval of that difference above -0.01": together["interval"][0] > -0.01}
    for seed in seeds:
        checks[f"{seed} iron F1 at most 0.02 lower"] = candidate[seed]["iron"] - base[seed]["iron"] >= -0.02 - 1e-9
        checks[f"{seed} microbleed F1 within 0.005"] = abs(candidate[seed]["cmb"] - base[seed]["cmb"]) <= 0.005 + 1e-9
        checks[f"{seed} mimic FP per participant at most 0.05 higher"] = candidate[seed]["mimic"] - base[seed]["mimic"] <= 0.05 + 1e-9
    for seed, cohort in seeds.items():
        print(f"{seed} ({cohort}): {base_label} " + ", ".join(f"{k} {v:.3f}" for k, v in base[seed].items())
              + f"; {label} " + ", ".join(f"{k} {v:.3f}" for k, v in candidate[seed].items()))
    print(f"all {n}, iron: {base_label} {together['base']:.3f}, {label} {together['candidate']:.3f}, difference {together['difference']:+.3f} "
          f"{interval(together['interval'])} (paired, {n} participants, {together['reference_lesions']} deposits)")
    for check, ok in checks.items():
        print(f"{'holds' if ok else 'FAILS'}: {check}")
    return all(checks.values())


if __name__ == "__main__":
    print("H is chosen" if rule(SEEDS, "m053", "h", "H") else "0.5.3 stays the default; nothing ships")
