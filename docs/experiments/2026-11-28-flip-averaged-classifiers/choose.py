"""Round 27's rule (README, written before any model ran on the cohorts): F against 0.5.3 on the
selection cohorts 620 (nominal, 40), 1370 (protocol T, 20) and 1380 (protocol B, 20), from
`deepmir evaluate`'s folders eval-SEED-m053 and eval-SEED-f. F changes both classifiers, so the
rule asks of both classes what round 23's asked of iron alone.

python choose.py    (in /tmp/s31, after run_cohorts.sh select 620 1370 1380)
"""
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here.parent / "2026-11-26-paper-load-calibration"))
sys.path.insert(0, str(here.parent / "2026-11-27-iron-classifier-only"))
from paired_f1 import interval, paired
from pooled import pooled_f1 as pooled

SEEDS = {620: "nominal", 1370: "protocol T", 1380: "protocol B"}


def rule(seeds: dict[int, str], base_name: str = "m053", candidate_name: str = "f") -> bool:
    base = {seed: pooled(f"eval-{seed}-{base_name}") for seed in seeds}
    candidate = {seed: pooled(f"eval-{seed}-{candidate_name}") for seed in seeds}
    together = {key: paired([f"eval-{seed}-{base_name}" for seed in seeds], [f"eval-{seed}-{candidate_name}" for seed in seeds], key)
                for key in ("cmb", "iron")}
    n = together["iron"]["participants"]
    gains = [key for key in ("cmb", "iron") if together[key]["difference"] >= 0.01 - 1e-9 and together[key]["interval"][0] > -0.01]
    checks = {f"all {n}: one class's F1 at least 0.01 higher with its paired 95 % interval above -0.01": bool(gains),
              **{f"all {n}: {key} F1 at most 0.005 lower": together[key]["difference"] >= -0.005 - 1e-9 for key in ("cmb", "iron")}}
    for seed in seeds:
        for key in ("cmb", "iron"):
            checks[f"{seed} {key} F1 at most 0.02 lower"] = candidate[seed][key] - base[seed][key] >= -0.02 - 1e-9
        checks[f"{seed} mimic FP per participant at most 0.05 higher"] = candidate[seed]["mimic"] - base[seed]["mimic"] <= 0.05 + 1e-9
    for seed, cohort in seeds.items():
        print(f"{seed} ({cohort}): 0.5.3 " + ", ".join(f"{k} {v:.3f}" for k, v in base[seed].items())
              + "; F " + ", ".join(f"{k} {v:.3f}" for k, v in candidate[seed].items()))
    for key, r in together.items():
        print(f"all {n}, {key}: 0.5.3 {r['base']:.3f}, F {r['candidate']:.3f}, difference {r['difference']:+.3f} "
              f"{interval(r['interval'])} (paired, {n} participants, {r['reference_lesions']} reference lesions)")
    for check, ok in checks.items():
        print(f"{'holds' if ok else 'FAILS'}: {check}")
    return all(checks.values())


if __name__ == "__main__":
    print("F is chosen" if rule(SEEDS) else "0.5.3 stays the default; nothing ships")
