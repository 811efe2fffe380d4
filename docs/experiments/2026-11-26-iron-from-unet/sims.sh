#!/bin/sh
# round 7's cohorts, seeds used nowhere before: selection 800 (40, nominal); held-out 290 (nominal) and 990 (the unseen protocol of 930-980)
. /work/main/.venv/bin/activate
cd /tmp/s14
deepmir simulate --n 40 --seed 800 --out select-800 > sim800.log 2>&1; echo $? > SIM800_DONE
deepmir simulate --n 20 --seed 290 --out heldout-290 > sim290.log 2>&1
deepmir simulate --n 20 --seed 990 --out heldout-990 --spacing 0.8 0.8 2.0 --size 240 320 78 --echo-times 20 28 36 44 --b0 0 0.173648 0.984808 --noise-scale 1.5 --gre-bias 0.2 > sim990.log 2>&1
echo done > SIMHELD_DONE
