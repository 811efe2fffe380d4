#!/bin/sh
# Round 48's training cohorts in WORK (/tmp/s47): round 45's two simulated again, and 20 fresh protocol B ones
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
cd ${WORK:-/tmp/s47}
(sim 2160 --n 20 --load hard --out train-2160; sim 2280 --n 20 --load hard $B --out train-2280) &
sim 2170 --n 20 --load hard --vary-protocol --out train-2170 &
wait
