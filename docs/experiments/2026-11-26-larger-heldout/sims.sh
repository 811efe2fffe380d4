#!/bin/sh
# round 8's cohorts, seeds used nowhere before: held-out 310 (nominal, 60) and 1000 (the unseen protocol of 930-990, 40)
. /work/main/.venv/bin/activate
cd /tmp/s16
deepmir simulate --n 60 --seed 310 --out heldout-310 > sim310.log 2>&1; echo $? > SIM310_DONE
deepmir simulate --n 40 --seed 1000 --out heldout-1000 --spacing 0.8 0.8 2.0 --size 240 320 78 --echo-times 20 28 36 44 --b0 0 0.173648 0.984808 --noise-scale 1.5 --gre-bias 0.2 > sim1000.log 2>&1; echo $? > SIM1000_DONE
