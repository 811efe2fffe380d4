#!/bin/sh
# Round 45 held-out cohorts (paper load; seeds used nowhere before), simulated only if choose.py chooses P; in WORK (default /tmp/s45)
D=/work/main/.venv/bin/deepmir
A="--spacing 0.8 0.8 2.0 --size 240 320 78 --echo-times 20 28 36 44 --b0 0 0.173648 0.984808 --noise-scale 1.5 --gre-bias 0.2"
cd ${WORK:-/tmp/s45}
nice $D simulate --n 20 --seed 2200 --out heldout-2200 > sim-2200.log 2>&1 && touch SIM2200_DONE
nice $D simulate --n 20 --seed 2210 $A --out heldout-2210 > sim-2210.log 2>&1 && touch SIM2210_DONE
