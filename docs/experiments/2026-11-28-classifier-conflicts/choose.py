"""Round 33's rule (README, written before O ran on the cohorts): round 23's `rule`, O against
0.5.4 on the selection cohorts 1570 (nominal, 40) and 1580 (protocol B, 20), from `deepmir
evaluate`'s folders eval-SEED-m054 and eval-SEED-o.

python choose.py    (in /tmp/s36, after run.sh)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-27-microbleed-classifier-iron"))
from choose_h import rule

if __name__ == "__main__":
    print("O is chosen" if rule({1570: "nominal", 1580: "protocol B"}, "m054", "o", "O") else "0.5.4 stays the default; nothing ships")
