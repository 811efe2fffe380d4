#!/bin/sh
# round 18's fresh cohorts, seeds used nowhere before: nominal 460 (40), unseen protocol A 1160 (20),
# protocol B 1170 (20). usage: sims.sh nominal | other   (run both at once, one per core)
. /work/main/.venv/bin/activate
cd /tmp/s24
A="--spacing 0.8 0.8 2.0 --size 240 320 78 --echo-times 20 28 36 44 --b0 0 0.173648 0.984808 --noise-scale 1.5 --gre-bias 0.2"
B="--spacing 1.0 1.0 1.5 --size 192 256 104 --echo-times 25 33 41 --b0 0.258819 0 0.965926 --noise-scale 1.2 --gre-bias 0.1"
if [ "$1" = nominal ]; then
  deepmir simulate --n 40 --seed 460 --out fresh-460 > sim460.log 2>&1; echo $? > SIM460_DONE
else
  deepmir simulate --n 20 --seed 1160 --out fresh-1160 $A > sim1160.log 2>&1; echo $? > SIM1160_DONE
  deepmir simulate --n 20 --seed 1170 --out fresh-1170 $B > sim1170.log 2>&1; echo $? > SIM1170_DONE
fi
