#!/bin/sh
# round 41's cohorts, two simulations at a time, niced; each writes SIMSEED_DONE.
# Rebuilt (same seeds and options as round 40): train-1630 and train-1840 (40 nominal iron-rich slabs each, W's
# training), cal-1650 and cal-1850 (20 nominal each, W's calibration). New (seeds used nowhere before): train-1910 and
# train-1920 (40 nominal iron-rich slabs each, training), selection 1930, 1940, 1950, 1960 (30 nominal each), held-out
# 1970 (20 nominal) and 1980 (20, the unseen protocol A), simulated now, predicted only after the choice is committed.
# usage: WORK=/tmp/s42 sh sims.sh
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
cd ${WORK:-/tmp/s42}
(sim 1910 --n 40 --load dense --slab 32 --out train-1910
 sim 1630 --n 40 --load dense --slab 32 --out train-1630
 sim 1650 --n 20 --out cal-1650
 sim 1930 --n 30 --out select-1930
 sim 1950 --n 30 --out select-1950
 sim 1970 --n 20 --out heldout-1970) &
(sim 1920 --n 40 --load dense --slab 32 --out train-1920
 sim 1840 --n 40 --load dense --slab 32 --out train-1840
 sim 1850 --n 20 --out cal-1850
 sim 1940 --n 30 --out select-1940
 sim 1960 --n 30 --out select-1960
 sim 1980 --n 20 $A --out heldout-1980) &
wait
