"""Round 34's rule (README, written before P ran on any cohort): round 23's `rule`, P against
0.5.4 on the nominal cohort 1600 (40), from `deepmir evaluate`'s folders eval-1600-m054 and
eval-1600-p.

python choose_p.py    (in /tmp/s36, after run_p.sh)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-27-microbleed-classifier-iron"))
from choose_h import rule

if __name__ == "__main__":
    print("P is chosen" if rule({1600: "nominal"}, "m054", "p", "P") else "0.5.4 stays the default; nothing ships")
