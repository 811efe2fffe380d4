#!/bin/sh
# round 5's cohorts: selection 780 (60, nominal); held-out 270 (nominal) and 970 (the unseen protocol of 930/960)
. /work/main/.venv/bin/activate
cd /tmp/s12
(deepmir simulate --n 60 --seed 780 --out select-780 > sim780.log 2>&1; echo $? > SIM780_DONE) &
deepmir simulate --n 20 --seed 270 --out heldout-270 > sim270.log 2>&1
deepmir simulate --n 20 --seed 970 --out heldout-970 --spacing 0.8 0.8 2.0 --size 240 320 78 --echo-times 20 28 36 44 --b0 0 0.173648 0.984808 --noise-scale 1.5 --gre-bias 0.2 > sim970.log 2>&1
echo done > SIMHELD_DONE
wait
