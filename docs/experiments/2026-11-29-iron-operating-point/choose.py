"""Round 39's rule (README, written before any model ran on the cohorts): V against 0.5.4 on the
nominal selection cohorts 1810 and 1830 (30 each) together, from `deepmir evaluate`'s folders
eval-SEED-m054 and eval-SEED-v.

python choose.py    (in /tmp/s41, after run.sh)
"""
import json
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here.parent / "2026-11-27-iron-classifier-only"))
from paired_f1 import interval, paired

SEEDS = (1810, 1830)


def pooled(model: str) -> dict:
    """Pooled TP / FP / FN, sensitivity, precision and F1 per class, and the false positives on mimics, over SEEDS."""
    totals = {key: {"tp": 0, "fp": 0, "fn": 0} for key in ("cmb", "iron")}
    mimics = 0
    for seed in SEEDS:
        d = json.loads(Path(f"eval-{seed}-{model}", "summary.json").read_text())
        for key, counts in totals.items():
            for count in counts:
                counts[count] += d[key]["summary"][count]
        mimics += sum(d["false_positives_on_mimics"]["total_by_kind"].values())
    figures = {}
    for key, c in totals.items():
        sensitivity, precision = c["tp"] / max(c["tp"] + c["fn"], 1), c["tp"] / max(c["tp"] + c["fp"], 1)
        figures[key] = {**c, "sensitivity": sensitivity, "precision": precision,
                        "f1": 2 * c["tp"] / max(2 * c["tp"] + c["fp"] + c["fn"], 1)}
    figures["mimic"] = mimics
    return figures


if __name__ == "__main__":
    base, candidate = pooled("m054"), pooled("v")
    n = 60
    for label, f in (("0.5.4", base), ("V", candidate)):
        print(f"{label}: " + "; ".join(f"{key} {f[key]['tp']} / {f[key]['fp']} / {f[key]['fn']}, sensitivity {f[key]['sensitivity']:.3f}, "
                                       f"precision {f[key]['precision']:.3f}, F1 {f[key]['f1']:.3f}" for key in ("cmb", "iron"))
              + f"; false positives on mimics {f['mimic']} ({f['mimic'] / n:.3f} per participant)")
    together = paired([f"eval-{seed}-m054" for seed in SEEDS], [f"eval-{seed}-v" for seed in SEEDS], "iron")
    assert together["participants"] == n
    print(f"iron F1 difference {together['difference']:+.3f} {interval(together['interval'])} (paired, {n} participants; not used)")
    smaller = {label: min(f["iron"]["sensitivity"], f["iron"]["precision"]) for label, f in (("base", base), ("v", candidate))}
    checks = {
        f"iron: smaller of sensitivity and precision at least 0.01 higher ({smaller['base']:.3f} -> {smaller['v']:.3f})":
            smaller["v"] - smaller["base"] >= 0.01 - 1e-9,
        f"iron F1 at most 0.01 lower ({base['iron']['f1']:.3f} -> {candidate['iron']['f1']:.3f})":
            candidate["iron"]["f1"] - base["iron"]["f1"] >= -0.01 - 1e-9,
        f"microbleed F1 within 0.005 ({base['cmb']['f1']:.3f} -> {candidate['cmb']['f1']:.3f})":
            abs(candidate["cmb"]["f1"] - base["cmb"]["f1"]) <= 0.005 + 1e-9,
        f"false positives on mimics per participant at most 0.05 higher ({base['mimic'] / n:.3f} -> {candidate['mimic'] / n:.3f})":
            (candidate["mimic"] - base["mimic"]) / n <= 0.05 + 1e-9,
    }
    for check, ok in checks.items():
        print(f"{'holds' if ok else 'FAILS'}: {check}")
    print("V is chosen" if all(checks.values()) else "0.5.4 stays the default; nothing ships")
