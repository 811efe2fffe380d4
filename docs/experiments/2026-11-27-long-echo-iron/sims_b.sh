#!/bin/sh
. /work/main/.venv/bin/activate
cd /tmp/s19
deepmir simulate --n 20 --seed 1050 --out select-1050 --spacing 1.0 1.0 1.5 --size 192 256 104 --echo-times 25 33 41 --b0 0.258819 0 0.965926 --noise-scale 1.2 --gre-bias 0.1 > sim1050.log 2>&1; echo $? > SIM1050_DONE
deepmir simulate --n 20 --seed 1060 --out heldout-1060 --spacing 0.8 0.8 2.0 --size 240 320 78 --echo-times 20 28 36 44 --b0 0 0.173648 0.984808 --noise-scale 1.5 --gre-bias 0.2 > sim1060.log 2>&1; echo $? > SIM1060_DONE
