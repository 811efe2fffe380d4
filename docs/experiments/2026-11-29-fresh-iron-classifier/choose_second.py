"""Round 40, W's second trial (README, written before W ran on the cohorts): round 23's `rule`, W
against 0.5.4 on the fresh nominal selection cohorts 1890 and 1900 (30 each, together), from
`deepmir evaluate`'s folders eval-SEED-m054 and eval-SEED-w.

python choose_second.py    (in /tmp/s41, after run_second.sh)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-27-microbleed-classifier-iron"))
from choose_h import rule

if __name__ == "__main__":
    print("W is chosen" if rule({1890: "nominal", 1900: "nominal"}, "m054", "w", "W", base_label="0.5.4")
          else "0.5.4 stays the default; nothing ships; W's trials end")
