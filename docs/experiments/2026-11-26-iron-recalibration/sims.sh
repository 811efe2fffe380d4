#!/bin/sh
# round 6's cohorts, seeds used nowhere before: selection 790 (60, nominal); held-out 280 (nominal) and 980 (the unseen protocol of 930/960/970)
. /work/main/.venv/bin/activate
cd /tmp/s13
(deepmir simulate --n 60 --seed 790 --out select-790 > sim790.log 2>&1; echo $? > SIM790_DONE) &
deepmir simulate --n 20 --seed 280 --out heldout-280 > sim280.log 2>&1
deepmir simulate --n 20 --seed 980 --out heldout-980 --spacing 0.8 0.8 2.0 --size 240 320 78 --echo-times 20 28 36 44 --b0 0 0.173648 0.984808 --noise-scale 1.5 --gre-bias 0.2 > sim980.log 2>&1
echo done > SIMHELD_DONE
wait
