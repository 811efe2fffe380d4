#!/bin/sh
# Round 45 selection cohorts (paper load; seeds used nowhere before); run in WORK (default /tmp/s45)
D=/work/main/.venv/bin/deepmir
cd ${WORK:-/tmp/s45}
while [ ! -f DONE-hard ] || [ ! -f DONE-vary ]; do sleep 20; done  # after the training cohorts
nice $D simulate --n 20 --seed 2180 --out select-2180 > sim-2180.log 2>&1 && touch SIM2180_DONE
nice $D simulate --n 20 --seed 2190 --vary-protocol --out select-2190 > sim-2190.log 2>&1 && touch SIM2190_DONE
