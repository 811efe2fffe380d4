#!/bin/sh
# cohorts for the next session (none of them looked at): the lost training seed 520, a 40-participant
# selection cohort 760, held-out 250 (nominal) and 950 (the unseen protocol of 930)
. /work/main/.venv/bin/activate
cd /tmp/next
deepmir simulate --n 40 --seed 760 --out select-760 > sim760.log 2>&1
deepmir simulate --n 20 --seed 250 --out heldout-250 > sim250.log 2>&1
deepmir simulate --n 20 --seed 950 --out heldout-950 --spacing 0.8 0.8 2.0 --size 240 320 78 --echo-times 20 28 36 44 --b0 0 0.173648 0.984808 --noise-scale 1.5 --gre-bias 0.2 > sim950.log 2>&1
deepmir simulate --n 32 --seed 520 --load dense --vary-protocol --out train-520 > sim520.log 2>&1
echo done > SIMS_DONE
