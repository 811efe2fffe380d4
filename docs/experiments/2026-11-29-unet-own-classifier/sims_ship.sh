#!/bin/sh
# Shipping R as 0.5.6 (session 41), the cohorts: 310's first 4 (int8 calibration), held-out 2200 (nominal) and 2210 (A),
# and a fresh protocol B cohort 2250 (measurement only); usage: sh sims_ship.sh (works in /tmp/s47)
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
cd /tmp/s47
( sim 310 --n 4 --out calib-310; sim 2200 --n 20 --out heldout-2200 ) &
( sim 2210 --n 20 $A --out heldout-2210; sim 2250 --n 20 $B --out heldout-2250 ) &
wait
