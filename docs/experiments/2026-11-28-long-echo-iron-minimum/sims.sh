#!/bin/sh
# round 36's cohorts, two simulations at a time, niced; each writes SIMSEED_DONE.
# Rebuilt from round 35 (same seeds, same options): Q's training slabs train-1630 and train-1640 and its calibration
# cohorts cal-1650 and cal-1660 (../2026-11-28-iron-rich-slabs/sims.sh), and round 35's selection cohort 1680 (protocol
# B), which with cal-1660 makes the 40 protocol B participants the long-echo iron minimum is chosen on.
# New (seeds used nowhere before): selection 1710 nominal (40) and 1720 protocol B (20).
# usage: WORK=/tmp/s38 sh sims.sh
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
cd ${WORK:-/tmp/s38}
(sim 1630 --n 40 --load dense --slab 32 --out train-1630
 sim 1640 --n 40 --load dense --slab 32 $B --out train-1640
 sim 1650 --n 20 --out cal-1650
 sim 1660 --n 20 $B --out cal-1660) &
(sim 1680 --n 20 $B --out cal-1680
 sim 1710 --n 40 --out select-1710
 sim 1720 --n 20 $B --out select-1720) &
wait
