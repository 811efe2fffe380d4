#!/bin/sh
# round 44's held-out cohorts (seeds used nowhere before), nominal protocol, paper load, 20 participants each,
# two simulations at a time, niced; each writes SIMSEED_DONE.
# usage: WORK=/tmp/s45 sh sims.sh
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
cd ${WORK:-/tmp/s45}
(sim 2120 --n 20 --out heldout-2120
 sim 2140 --n 20 --out heldout-2140) &
(sim 2130 --n 20 --out heldout-2130
 sim 2150 --n 20 --out heldout-2150) &
wait
