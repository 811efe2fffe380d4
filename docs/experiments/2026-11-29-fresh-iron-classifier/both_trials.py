"""After W's trials ended (a diagnostic, not a selection: the first trial's cohorts had been seen):
iron F1 of 0.5.4 and W over both trials' 120 participants, with the paired bootstrap interval.

python both_trials.py    (in /tmp/s41; both_trials.txt)
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-27-iron-classifier-only"))
from paired_f1 import interval, paired

seeds = (1860, 1870, 1890, 1900)
r = paired([f"eval-{s}-m054" for s in seeds], [f"eval-{s}-w" for s in seeds], "iron")
print(f"both trials (120, not a selection): iron F1 0.5.4 {r['base']:.3f}, W {r['candidate']:.3f}, difference {r['difference']:+.3f} "
      f"{interval(r['interval'])} ({r['participants']} participants, {r['reference_lesions']} deposits)")
