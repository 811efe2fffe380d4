#!/bin/sh
# round 12 cohorts: selection 1070 (protocol B) and 380 (nominal), held-out 1080 (protocol A) and 390 (nominal)
. /work/main/.venv/bin/activate
cd /tmp/s20
B="--spacing 1.0 1.0 1.5 --size 192 256 104 --echo-times 25 33 41 --b0 0.258819 0 0.965926 --noise-scale 1.2 --gre-bias 0.1"
A="--spacing 0.8 0.8 2.0 --size 240 320 78 --echo-times 20 28 36 44 --b0 0 0.173648 0.984808 --noise-scale 1.5 --gre-bias 0.2"
deepmir simulate --n 20 --seed 1070 --out select-1070 $B > sim1070.log 2>&1; echo $? > SIM1070_DONE
deepmir simulate --n 20 --seed 380 --out select-380 > sim380.log 2>&1; echo $? > SIM380_DONE
deepmir simulate --n 20 --seed 1080 --out heldout-1080 $A > sim1080.log 2>&1; echo $? > SIM1080_DONE
deepmir simulate --n 20 --seed 390 --out heldout-390 > sim390.log 2>&1; echo $? > SIM390_DONE
