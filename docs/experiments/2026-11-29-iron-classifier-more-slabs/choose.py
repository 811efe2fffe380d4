"""Round 41's rule (README, written before X ran on the cohorts): round 23's `rule`, a candidate against
0.5.4 on nominal selection cohorts (together), from `deepmir evaluate`'s folders eval-SEED-m054 and
eval-SEED-<candidate's folder>. One script for any such trial: the candidate and the seeds are arguments.

python choose.py x 1930 1940 1950 1960    (in /tmp/s42, after base.sh and run.sh)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-27-microbleed-classifier-iron"))
from choose_h import rule

if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: python choose.py CANDIDATE_FOLDER SEED...")
    folder, seeds = sys.argv[1], [int(s) for s in sys.argv[2:]]
    label = folder.upper()
    chosen = rule({seed: "nominal" for seed in seeds}, "m054", folder, label, base_label="0.5.4")
    print(f"{label} is chosen" if chosen else "0.5.4 stays the default; nothing ships")
