"""Round 28's rule (README, written before any model ran on the cohorts): G (0.5.3 with
`average_flips`, 0.5.3's minimums) against 0.5.3 on the selection cohorts 640 (nominal, 40),
1410 (protocol T, 20) and 1420 (protocol B, 20), from `deepmir evaluate`'s folders
eval-SEED-m053 and eval-SEED-g.

python choose.py    (in /tmp/s32, after run_cohorts.sh select 640 1410 1420)
"""
import json
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here.parent / "2026-11-26-paper-load-calibration"))
sys.path.insert(0, str(here.parent / "2026-11-27-iron-classifier-only"))
from paired_f1 import interval, paired
from pooled import pooled_f1 as pooled

SEEDS = {640: "nominal", 1410: "protocol T", 1420: "protocol B"}


def mimic_false_positives(folder: str) -> int:
    """False positives on mimics, summed over the folder's participants."""
    return sum(json.loads(Path(folder, "summary.json").read_text())["false_positives_on_mimics"]["total_by_kind"].values())


def rule(seeds: dict[int, str], base_name: str = "m053", candidate_name: str = "g") -> bool:
    base = {seed: pooled(f"eval-{seed}-{base_name}") for seed in seeds}
    candidate = {seed: pooled(f"eval-{seed}-{candidate_name}") for seed in seeds}
    together = {key: paired([f"eval-{seed}-{base_name}" for seed in seeds], [f"eval-{seed}-{candidate_name}" for seed in seeds], key)
                for key in ("cmb", "iron")}
    n = together["iron"]["participants"]
    mimics = [sum(mimic_false_positives(f"eval-{seed}-{name}") for seed in seeds) / n for name in (base_name, candidate_name)]
    checks = {f"all {n}: false positives on mimics per participant at least 0.05 lower": mimics[1] <= mimics[0] - 0.05 + 1e-9,
              **{f"all {n}: {key} F1 at most 0.005 lower": together[key]["difference"] >= -0.005 - 1e-9 for key in ("cmb", "iron")}}
    for seed in seeds:
        for key in ("cmb", "iron"):
            checks[f"{seed} {key} F1 at most 0.02 lower"] = candidate[seed][key] - base[seed][key] >= -0.02 - 1e-9
        checks[f"{seed} mimic FP per participant not higher"] = candidate[seed]["mimic"] <= base[seed]["mimic"] + 1e-9
    for seed, cohort in seeds.items():
        print(f"{seed} ({cohort}): 0.5.3 " + ", ".join(f"{k} {v:.3f}" for k, v in base[seed].items())
              + "; G " + ", ".join(f"{k} {v:.3f}" for k, v in candidate[seed].items()))
    print(f"all {n}: false positives on mimics per participant 0.5.3 {mimics[0]:.3f}, G {mimics[1]:.3f}")
    for key, r in together.items():
        print(f"all {n}, {key}: 0.5.3 {r['base']:.3f}, G {r['candidate']:.3f}, difference {r['difference']:+.3f} "
              f"{interval(r['interval'])} (paired, {n} participants, {r['reference_lesions']} reference lesions)")
    for check, ok in checks.items():
        print(f"{'holds' if ok else 'FAILS'}: {check}")
    return all(checks.values())


if __name__ == "__main__":
    print("G is chosen" if rule(SEEDS) else "0.5.3 stays the default; nothing ships")
