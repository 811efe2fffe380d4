#!/bin/sh
# round 35's cohorts (seeds used nowhere before), two simulations at a time, niced; each writes SIMSEED_DONE.
# training (slabs of 32 slices through the basal ganglia, 'dense' load: 1.5 bilateral iron-deposit pairs on average):
#   1630 nominal, 1640 protocol B (40 each); calibration: 1650 nominal, 1660 protocol B (20 each);
# selection: 1670 nominal (40), 1680 protocol B (20).
# usage: WORK=/tmp/s37 sh sims.sh
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
cd ${WORK:-/tmp/s37}
(sim 1630 --n 40 --load dense --slab 32 --out train-1630
 sim 1640 --n 40 --load dense --slab 32 $B --out train-1640
 sim 1650 --n 20 --out cal-1650
 sim 1660 --n 20 $B --out cal-1660) &
(sim 1670 --n 40 --out select-1670
 sim 1680 --n 20 $B --out select-1680) &
wait
