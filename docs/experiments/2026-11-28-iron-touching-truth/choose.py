"""Round 25's rule (README, written before any model ran on the cohorts): round 23's `rule`
(../2026-11-27-microbleed-classifier-iron/choose_h.py), K against 0.5.3 on the selection cohorts
550 (nominal, 40), 1320 (protocol T, 20) and 1330 (protocol B, 20), from `deepmir evaluate`'s
folders eval-SEED-m053 and eval-SEED-k.

python choose.py    (in /tmp/s29, after run_cohorts.sh select 550 1320 1330)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-27-microbleed-classifier-iron"))
from choose_h import rule

SEEDS = {550: "nominal", 1320: "protocol T", 1330: "protocol B"}

if __name__ == "__main__":
    print("K is chosen" if rule(SEEDS, "m053", "k", "K") else "0.5.3 stays the default; nothing ships")
