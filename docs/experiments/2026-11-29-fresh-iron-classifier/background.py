"""After round 40 (a diagnostic for the next lead, not a selection): how many of the U-Net's candidates
in W's training slabs lie on no mimic (the deep-nuclei background that false deposits come from) at
lower training proposals. Counts of candidate causes per proposal, over train-1840's 40 slabs.

python background.py    (in /tmp/s41; background.txt)
"""
from collections import Counter

from DeepMIRLib.secondstage import collect_candidates
from DeepMIRLib.training import find_training_cases

cases = find_training_cases("train-1840")
for proposal in (0.02, 0.01, 0.005):
    found = collect_candidates(cases, "m054/deepmir-multiclass-sim-w16.json", proposals=(proposal,))
    print(f"proposal {proposal:g}: {len(found.targets)} candidates {dict(sorted(Counter(found.causes).items()))}", flush=True)
