#!/bin/sh
# round 16's cohorts, seeds used nowhere before. selection: 440 (nominal, 60), 1120 (protocol B, 20),
# 1130 (unseen protocol A, 20); held-out: 450 (nominal, 40), 1140 (B, 20), 1150 (A, 20).
# usage: sims.sh nominal | other   (run both at once, one per core)
. /work/main/.venv/bin/activate
cd /tmp/s23
A="--spacing 0.8 0.8 2.0 --size 240 320 78 --echo-times 20 28 36 44 --b0 0 0.173648 0.984808 --noise-scale 1.5 --gre-bias 0.2"
B="--spacing 1.0 1.0 1.5 --size 192 256 104 --echo-times 25 33 41 --b0 0.258819 0 0.965926 --noise-scale 1.2 --gre-bias 0.1"
if [ "$1" = nominal ]; then
  deepmir simulate --n 60 --seed 440 --out select-440 > sim440.log 2>&1; echo $? > SIM440_DONE
  deepmir simulate --n 40 --seed 450 --out heldout-450 > sim450.log 2>&1; echo $? > SIM450_DONE
else
  deepmir simulate --n 20 --seed 1120 --out select-1120 $B > sim1120.log 2>&1; echo $? > SIM1120_DONE
  deepmir simulate --n 20 --seed 1130 --out select-1130 $A > sim1130.log 2>&1; echo $? > SIM1130_DONE
  deepmir simulate --n 20 --seed 1140 --out heldout-1140 $B > sim1140.log 2>&1; echo $? > SIM1140_DONE
  deepmir simulate --n 20 --seed 1150 --out heldout-1150 $A > sim1150.log 2>&1; echo $? > SIM1150_DONE
fi
