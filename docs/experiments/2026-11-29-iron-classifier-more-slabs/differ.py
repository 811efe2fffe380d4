"""After round 41's choice (a diagnostic, not a selection): the iron lesions X keeps that 0.5.4 does not
and the reverse, per cohort, by outcome and the mimic false ones lie on (round 40's `differ`).

python differ.py SEED...    (in /tmp/s42, after run.sh, and run_heldout.sh for held-out seeds; differ.txt)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-29-fresh-iron-classifier"))
from differ import differ

if __name__ == "__main__":
    for seed in sys.argv[1:]:
        print(differ(seed, "x"))
