#!/bin/sh
# round 35's held-out cohorts, one simulation at a time after the selection cohorts: 1690 nominal (40), 1700 protocol A (20)
# usage: WORK=/tmp/s37 sh sims_heldout.sh
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
cd ${WORK:-/tmp/s37}
while [ ! -f SIM1680_DONE ]; do sleep 20; done
sim 1690 --n 40 --out heldout-1690
sim 1700 --n 20 $A --out heldout-1700
