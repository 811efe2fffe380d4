"""Round 30's rule (README, written before any model ran on its cohorts): round 29's, on the
selection cohorts 670 (nominal) and 1460 (protocol B), H95 against 0.5.3, from eval-SEED-m053 and
eval-SEED-h95.

python choose.py    (in /tmp/s33, after run.sh)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-28-contrast-augmented-microbleeds"))
from choose import rule

if __name__ == "__main__":
    print("H95 is chosen" if rule(670, 1460, "h95", "H95") else "0.5.3 stays the default; nothing ships")
