#!/bin/sh
. /work/main/.venv/bin/activate
cd /tmp/s18
deepmir simulate --n 20 --seed 1030 --out select-1030 --spacing 1.0 1.0 1.5 --size 192 256 104 --echo-times 25 33 41 --b0 0.258819 0 0.965926 --noise-scale 1.2 --gre-bias 0.1 > sim1030.log 2>&1; echo $? > SIM1030_DONE
deepmir simulate --n 20 --seed 1040 --out heldout-1040 --spacing 0.8 0.8 2.0 --size 240 320 78 --echo-times 20 28 36 44 --b0 0 0.173648 0.984808 --noise-scale 1.5 --gre-bias 0.2 > sim1040.log 2>&1; echo $? > SIM1040_DONE
