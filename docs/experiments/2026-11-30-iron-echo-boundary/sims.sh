#!/bin/sh
# Round 50's cohorts in WORK (/tmp/s49), all of varied protocols (first echo 5-15 ms): calibration 2350 and 2380 (20 each), selection
# 2360 (20), held out 2370 (20; predicted only after the choice is committed)
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
cd ${WORK:-/tmp/s49}
(sim 2350 --n 20 --vary-protocol --out cal-2350; sim 2360 --n 20 --vary-protocol --out select-2360) &
(sim 2380 --n 20 --vary-protocol --out cal-2380; sim 2370 --n 20 --vary-protocol --out heldout-2370) &
wait
