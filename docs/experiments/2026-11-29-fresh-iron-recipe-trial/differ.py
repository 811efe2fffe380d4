"""After round 42's choice (a diagnostic, not a selection): the iron lesions a candidate keeps that 0.5.4 does not
and the reverse, per cohort, by outcome and the mimic false ones lie on (round 40's `differ`).

python differ.py FOLDER SEED...    (in /tmp/s43, after run.sh candidate, and run.sh heldout for the held-out seed)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-29-fresh-iron-classifier"))
from differ import differ

if __name__ == "__main__":
    folder = sys.argv[1]
    for seed in sys.argv[2:]:
        print(differ(seed, folder))
