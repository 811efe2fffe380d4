#!/bin/sh
# round 38's cohorts, two simulations at a time, niced; each writes SIMSEED_DONE.
# Rebuilt from rounds 35 and 37 (same seeds, same options; ../2026-11-29-per-echo-classifier/sims.sh): Q's training
# slabs train-1630 and train-1640 and its calibration cohorts cal-1650 and cal-1660.
# New (seeds used nowhere before): selection 1790 nominal (60); held-out 1800 nominal (20), simulated now but predicted
# only after the choice is committed.
# usage: WORK=/tmp/s40 sh sims.sh
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
cd ${WORK:-/tmp/s40}
(sim 1630 --n 40 --load dense --slab 32 --out train-1630
 sim 1640 --n 40 --load dense --slab 32 $B --out train-1640
 sim 1650 --n 20 --out cal-1650
 sim 1800 --n 20 --out heldout-1800) &
(sim 1660 --n 20 $B --out cal-1660
 sim 1790 --n 60 --out select-1790) &
wait
