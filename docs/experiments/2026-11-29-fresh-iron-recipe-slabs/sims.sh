#!/bin/sh
# round 43's cohorts, two simulations at a time, niced; each writes SIMSEED_DONE.
# Rebuilt (same seeds and options as rounds 41 and 42): train-1630, train-1840, train-1910, train-1920 (40 nominal
# iron-rich slabs each, Y's training), cal-1650 and cal-1850 (20 nominal each, Y's calibration).
# New (seeds used nowhere before): selection 2050, 2060, 2070, 2100, 2110 (40 nominal iron-rich slabs each, `--load
# dense --slab 32`) and 2090 (40 nominal, paper load), held-out 2080 (20 nominal, paper load), simulated now, predicted
# only after the choice is committed. (2090, then 2100 and 2110, were added to the plan after this script had started,
# before any model ran on a selection cohort; each ran as its own job waiting for the line before it here to finish,
# which is what these lines do.)
# usage: WORK=/tmp/s44 sh sims.sh
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
cd ${WORK:-/tmp/s44}
(sim 1630 --n 40 --load dense --slab 32 --out train-1630
 sim 1910 --n 40 --load dense --slab 32 --out train-1910
 sim 1650 --n 20 --out cal-1650
 sim 2050 --n 40 --load dense --slab 32 --out select-2050
 sim 2080 --n 20 --out heldout-2080
 sim 2100 --n 40 --load dense --slab 32 --out select-2100
 sim 2110 --n 40 --load dense --slab 32 --out select-2110) &
(sim 1840 --n 40 --load dense --slab 32 --out train-1840
 sim 1920 --n 40 --load dense --slab 32 --out train-1920
 sim 1850 --n 20 --out cal-1850
 sim 2060 --n 40 --load dense --slab 32 --out select-2060
 sim 2070 --n 40 --load dense --slab 32 --out select-2070
 sim 2090 --n 40 --out select-2090) &
wait
