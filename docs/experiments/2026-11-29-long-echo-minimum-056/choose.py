"""Round 47's rule (README, written before any model ran on its cohorts): round 32's, G (0.5.6 with its microbleed
minimum for SWI echo times from 15 ms chosen again) against 0.5.6 on the selection cohort 2260 (protocol B, 20), from
`deepmir evaluate`'s folders eval-2260-m056 and eval-2260-g.

python choose.py    (in /tmp/s47, after run.sh select)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-28-long-echo-minimum"))
from choose import rule

if __name__ == "__main__":
    print("G is chosen" if rule(2260, "g", "G", base="m056", base_label="0.5.6") else "0.5.6 stays the default; nothing ships")
