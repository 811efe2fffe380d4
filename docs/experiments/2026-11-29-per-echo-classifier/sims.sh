#!/bin/sh
# round 37's cohorts, two simulations at a time, niced; each writes SIMSEED_DONE.
# Rebuilt from round 35 (same seeds, same options; ../2026-11-28-iron-rich-slabs/sims.sh): Q's training slabs
# train-1630 and train-1640 and its calibration cohorts cal-1650 and cal-1660.
# New (seeds used nowhere before): selection 1750 nominal (40) and 1760 protocol B (20); held-out 1770 nominal (40) and
# 1780 protocol A (20), simulated now but predicted only after the choice is committed.
# usage: WORK=/tmp/s39 sh sims.sh
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
cd ${WORK:-/tmp/s39}
(sim 1630 --n 40 --load dense --slab 32 --out train-1630
 sim 1640 --n 40 --load dense --slab 32 $B --out train-1640
 sim 1750 --n 40 --out select-1750
 sim 1770 --n 40 --out heldout-1770) &
(sim 1650 --n 20 --out cal-1650
 sim 1660 --n 20 $B --out cal-1660
 sim 1760 --n 20 $B --out select-1760
 sim 1780 --n 20 $A --out heldout-1780) &
wait
