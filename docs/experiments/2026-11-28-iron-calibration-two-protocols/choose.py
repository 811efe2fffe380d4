"""Round 26's rule (README, written before any model ran on the cohorts): round 23's `rule`
(../2026-11-27-microbleed-classifier-iron/choose_h.py), L against 0.5.3 on the selection cohorts
600 (nominal, 40), 1350 (protocol T, 20) and 1360 (protocol B, 20), from `deepmir evaluate`'s
folders eval-SEED-m053 and eval-SEED-l.

python choose.py    (in /tmp/s30, after run_cohorts.sh select 600 1350 1360)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-27-microbleed-classifier-iron"))
from choose_h import rule

SEEDS = {600: "nominal", 1350: "protocol T", 1360: "protocol B"}

if __name__ == "__main__":
    print("L is chosen" if rule(SEEDS, "m053", "l", "L") else "0.5.3 stays the default; nothing ships")
