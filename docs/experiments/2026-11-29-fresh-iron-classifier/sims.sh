#!/bin/sh
# round 40's cohorts, two simulations at a time, niced; each writes SIMSEED_DONE.
# Rebuilt (same seeds and options as rounds 35-38): train-1630 (40 nominal iron-rich slabs, Q's training) and cal-1650
# (20 nominal, Q's calibration). New (seeds used nowhere before): train-1840 (40 nominal iron-rich slabs, training),
# cal-1850 (20 nominal, calibration), selection 1860 and 1870 (30 nominal each), held-out 1880 (20 nominal), simulated
# now but predicted only after the choice is committed.
# usage: WORK=/tmp/s41 sh sims.sh
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
cd ${WORK:-/tmp/s41}
(sim 1630 --n 40 --load dense --slab 32 --out train-1630
 sim 1840 --n 40 --load dense --slab 32 --out train-1840
 sim 1650 --n 20 --out cal-1650
 sim 1860 --n 30 --out select-1860) &
(sim 1850 --n 20 --out cal-1850
 sim 1870 --n 30 --out select-1870
 sim 1880 --n 20 --out heldout-1880) &
wait
