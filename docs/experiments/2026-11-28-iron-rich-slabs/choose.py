"""Round 35's rule (README, written before Q ran on the cohorts): round 23's `rule`, Q against
0.5.4 on the selection cohorts 1670 (nominal, 40) and 1680 (protocol B, 20), from `deepmir
evaluate`'s folders eval-SEED-m054 and eval-SEED-q (round 23's script prints the base as "0.5.3").

python choose.py    (in /tmp/s37, after base.sh and run.sh)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-27-microbleed-classifier-iron"))
from choose_h import rule

if __name__ == "__main__":
    print("Q is chosen" if rule({1670: "nominal", 1680: "protocol B"}, "m054", "q", "Q") else "0.5.4 stays the default; nothing ships")
