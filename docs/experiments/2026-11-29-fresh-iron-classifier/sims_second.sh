#!/bin/sh
# round 40, W's second trial (README): selection cohorts 1890 and 1900 (nominal, 30 each; seeds used nowhere before),
# two simulations at a time, niced; each writes SIMSEED_DONE.
# usage: WORK=/tmp/s41 sh sims_second.sh
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
cd ${WORK:-/tmp/s41}
sim 1890 --n 30 --out select-1890 &
sim 1900 --n 30 --out select-1900 &
wait
