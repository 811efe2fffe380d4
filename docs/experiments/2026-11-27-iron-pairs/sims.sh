#!/bin/sh
# round 13 selection cohorts: 410 (nominal) and 1090 (protocol B)
. /work/main/.venv/bin/activate
cd /tmp/s21
B="--spacing 1.0 1.0 1.5 --size 192 256 104 --echo-times 25 33 41 --b0 0.258819 0 0.965926 --noise-scale 1.2 --gre-bias 0.1"
deepmir simulate --n 20 --seed 410 --out select-410 > sim410.log 2>&1; echo $? > SIM410_DONE
deepmir simulate --n 20 --seed 1090 --out select-1090 $B > sim1090.log 2>&1; echo $? > SIM1090_DONE
