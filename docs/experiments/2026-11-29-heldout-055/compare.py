"""Round 44's comparison (planned in README.md before the cohorts were simulated; it decides nothing):
0.5.5 against 0.5.4 on the held-out cohorts, per cohort (pooled F1 and false positives on mimics) and over
all of them together (iron and microbleed F1 with the paired 95 % bootstrap interval of the difference),
from `deepmir evaluate`'s folders eval-SEED-m054 and eval-SEED-m055 (run.sh).

python compare.py 2120 2130 2140 2150    (in /tmp/s45; compare.txt)
"""
import sys
from pathlib import Path

experiments = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(experiments / "2026-11-26-paper-load-calibration"))
sys.path.insert(0, str(experiments / "2026-11-27-iron-classifier-only"))
from paired_f1 import interval, paired
from pooled import pooled_f1

if __name__ == "__main__":
    seeds = sys.argv[1:]
    if not seeds:
        sys.exit("usage: python compare.py SEED...")
    for seed in seeds:
        base, new = pooled_f1(f"eval-{seed}-m054"), pooled_f1(f"eval-{seed}-m055")
        print(f"{seed}: 0.5.4 " + ", ".join(f"{k} {v:.3f}" for k, v in base.items())
              + "; 0.5.5 " + ", ".join(f"{k} {v:.3f}" for k, v in new.items()))
    for key, name in (("iron", "iron deposits"), ("cmb", "microbleeds")):
        together = paired([f"eval-{s}-m054" for s in seeds], [f"eval-{s}-m055" for s in seeds], key)
        print(f"all {together['participants']}, {key} F1: 0.5.4 {together['base']:.3f}, 0.5.5 {together['candidate']:.3f}, "
              f"difference {together['difference']:+.3f} {interval(together['interval'])} "
              f"(paired, {together['reference_lesions']} {name})")
