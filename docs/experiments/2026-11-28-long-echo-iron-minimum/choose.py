"""Round 36's rule (README, written before R ran on the cohorts): round 23's `rule`, R against
0.5.4 on the selection cohorts 1710 (nominal, 40) and 1720 (protocol B, 20), from `deepmir
evaluate`'s folders eval-SEED-m054 and eval-SEED-r.

python choose.py    (in /tmp/s38, after base.sh and run.sh)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-27-microbleed-classifier-iron"))
from choose_h import rule

if __name__ == "__main__":
    print("R is chosen" if rule({1710: "nominal", 1720: "protocol B"}, "m054", "r", "R", base_label="0.5.4")
          else "0.5.4 stays the default; nothing ships")
