"""Round 13's rule (README, written before any model ran): S against 0.5.1 on the selection
cohorts 410 and 1090, from `deepmir evaluate`'s summaries (pooled TP / FP / FN).

python choose.py   (in /tmp/s21, after run_cohorts.sh select 410 1090 with MODELS="m051 s")
"""
import json
from pathlib import Path

SEEDS = (410, 1090)


def counts(folder: str) -> dict:
    d = json.loads(Path(folder, "summary.json").read_text())
    return {**{k: tuple(d[k]["summary"][c] for c in ("tp", "fp", "fn")) for k in ("cmb", "iron")},
            "mimic": d["false_positives_on_mimics"]["per_participant"]}


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / max(2 * tp + fp + fn, 1)


base = {seed: counts(f"eval-{seed}-m051") for seed in SEEDS}
s = {seed: counts(f"eval-{seed}-s") for seed in SEEDS}
pooled_iron = {name: f1(*(sum(c) for c in zip(*(model[seed]["iron"] for seed in SEEDS)))) for name, model in (("0.5.1", base), ("S", s))}
checks = {"iron F1 pooled over both cohorts at least 0.01 higher": pooled_iron["S"] - pooled_iron["0.5.1"] >= 0.01}
for seed in SEEDS:
    checks[f"{seed} iron F1 at most 0.005 lower"] = f1(*s[seed]["iron"]) - f1(*base[seed]["iron"]) >= -0.005
    checks[f"{seed} mimic FP per participant at most 0.05 higher"] = s[seed]["mimic"] - base[seed]["mimic"] <= 0.05 + 1e-9
    checks[f"{seed} microbleed F1 at most 0.005 lower"] = f1(*s[seed]["cmb"]) - f1(*base[seed]["cmb"]) >= -0.005
for seed in SEEDS:
    for name, model in (("0.5.1", base), ("S", s)):
        print(f"{seed} {name}: cmb {model[seed]['cmb']} F1 {f1(*model[seed]['cmb']):.3f}, iron {model[seed]['iron']} "
              f"F1 {f1(*model[seed]['iron']):.3f}, mimic {model[seed]['mimic']:.2f}")
print(f"iron F1 pooled over both: 0.5.1 {pooled_iron['0.5.1']:.3f}, S {pooled_iron['S']:.3f}")
for name, ok in checks.items():
    print(f"{'holds' if ok else 'FAILS'}: {name}")
print("S becomes the next default" if all(checks.values()) else "0.5.1 stays the default")
