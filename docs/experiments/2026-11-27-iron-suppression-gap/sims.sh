#!/bin/sh
# round 15's cohorts, seeds used nowhere before: selection 420 (nominal, 40) and 1100 (protocol B, 20);
# held-out 430 (nominal, 20) and 1110 (the unseen protocol A, 20). usage: sims.sh nominal | other
. /work/main/.venv/bin/activate
cd /tmp/s22
A="--spacing 0.8 0.8 2.0 --size 240 320 78 --echo-times 20 28 36 44 --b0 0 0.173648 0.984808 --noise-scale 1.5 --gre-bias 0.2"
B="--spacing 1.0 1.0 1.5 --size 192 256 104 --echo-times 25 33 41 --b0 0.258819 0 0.965926 --noise-scale 1.2 --gre-bias 0.1"
if [ "$1" = nominal ]; then
  deepmir simulate --n 40 --seed 420 --out select-420 > sim420.log 2>&1; echo $? > SIM420_DONE
  deepmir simulate --n 20 --seed 430 --out heldout-430 > sim430.log 2>&1; echo $? > SIM430_DONE
else
  deepmir simulate --n 20 --seed 1100 --out select-1100 $B > sim1100.log 2>&1; echo $? > SIM1100_DONE
  deepmir simulate --n 20 --seed 1110 --out heldout-1110 $A > sim1110.log 2>&1; echo $? > SIM1110_DONE
fi
