"""Round 24's rule (README, written before any model ran on the cohorts): round 23's `rule`
(../2026-11-27-microbleed-classifier-iron/choose_h.py), J against 0.5.3 on the selection cohorts
570 (nominal, 40), 1300 (protocol T, 20) and 1310 (protocol B, 20), from `deepmir evaluate`'s
folders eval-SEED-m053 and eval-SEED-j.

python choose.py    (in /tmp/s29, after run_cohorts.sh select 570 1300 1310)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-27-microbleed-classifier-iron"))
from choose_h import rule

SEEDS = {570: "nominal", 1300: "protocol T", 1310: "protocol B"}

if __name__ == "__main__":
    print("J is chosen" if rule(SEEDS, "m053", "j", "J") else "0.5.3 stays the default; nothing ships")
