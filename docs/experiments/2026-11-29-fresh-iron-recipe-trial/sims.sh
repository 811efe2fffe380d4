#!/bin/sh
# round 42's cohorts, two simulations at a time, niced; each writes SIMSEED_DONE.
# Rebuilt (same seeds and options as rounds 40 and 41): train-1630, train-1840, train-1910, train-1920 (40 nominal
# iron-rich slabs each, X's training), cal-1650 and cal-1850 (20 nominal each, X's calibration).
# New (seeds used nowhere before): selection 1990, 2000, 2010, 2020, 2030 (30 nominal each, one trial of 150), held-out
# 2040 (20 nominal), simulated now, predicted only after the choice is committed.
# usage: WORK=/tmp/s43 sh sims.sh
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
cd ${WORK:-/tmp/s43}
(sim 1630 --n 40 --load dense --slab 32 --out train-1630
 sim 1910 --n 40 --load dense --slab 32 --out train-1910
 sim 1650 --n 20 --out cal-1650
 sim 1990 --n 30 --out select-1990
 sim 2010 --n 30 --out select-2010
 sim 2040 --n 20 --out heldout-2040) &
(sim 1840 --n 40 --load dense --slab 32 --out train-1840
 sim 1920 --n 40 --load dense --slab 32 --out train-1920
 sim 1850 --n 20 --out cal-1850
 sim 2000 --n 30 --out select-2000
 sim 2020 --n 30 --out select-2020
 sim 2030 --n 30 --out select-2030) &
wait
