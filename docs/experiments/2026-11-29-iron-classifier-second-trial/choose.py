"""Round 38's rule (README, written before S ran on the cohort): round 23's `rule`, S against
0.5.4 on the nominal selection cohort 1790 (60), from `deepmir evaluate`'s folders eval-1790-m054
and eval-1790-s.

python choose.py    (in /tmp/s40, after base.sh and run.sh)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-27-microbleed-classifier-iron"))
from choose_h import rule

if __name__ == "__main__":
    print("S is chosen" if rule({1790: "nominal"}, "m054", "s", "S", base_label="0.5.4")
          else "0.5.4 stays the default; nothing ships; S's trials end")
