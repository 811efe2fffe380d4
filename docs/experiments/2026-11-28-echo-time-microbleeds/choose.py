"""Round 31's rule (README, written before any model ran on its cohorts): round 29's, on the
selection cohorts 690 (nominal) and 1490 (protocol B), E against 0.5.3, from eval-SEED-m053 and
eval-SEED-e.

python choose.py    (in /tmp/s34, after run.sh's selection)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-28-contrast-augmented-microbleeds"))
from choose import rule

if __name__ == "__main__":
    print("E is chosen" if rule(690, 1490, "e", "E") else "0.5.3 stays the default; nothing ships")
