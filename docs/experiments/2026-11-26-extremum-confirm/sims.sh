#!/bin/sh
# round 4's cohorts: a selection cohort 770 (40, nominal) and held-out 260 (nominal) and 960 (the unseen protocol of 930)
. /work/main/.venv/bin/activate
cd /tmp/s11
(deepmir simulate --n 40 --seed 770 --out select-770 > sim770.log 2>&1; echo $? > SIM770_DONE) &
deepmir simulate --n 20 --seed 260 --out heldout-260 > sim260.log 2>&1
deepmir simulate --n 20 --seed 960 --out heldout-960 --spacing 0.8 0.8 2.0 --size 240 320 78 --echo-times 20 28 36 44 --b0 0 0.173648 0.984808 --noise-scale 1.5 --gre-bias 0.2 > sim960.log 2>&1
echo done > SIMHELD_DONE
wait
