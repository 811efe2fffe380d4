"""Round 37's rule (README, written before S ran on the cohorts): round 23's `rule`, S against
0.5.4 on the selection cohorts 1750 (nominal, 40) and 1760 (protocol B, 20), from `deepmir
evaluate`'s folders eval-SEED-m054 and eval-SEED-s.

python choose.py    (in /tmp/s39, after base.sh and run.sh)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-27-microbleed-classifier-iron"))
from choose_h import rule

if __name__ == "__main__":
    print("S is chosen" if rule({1750: "nominal", 1760: "protocol B"}, "m054", "s", "S", base_label="0.5.4")
          else "0.5.4 stays the default; nothing ships")
