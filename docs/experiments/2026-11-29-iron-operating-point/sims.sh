#!/bin/sh
# round 39's cohorts (seeds used nowhere before), two simulations at a time, niced; each writes SIMSEED_DONE.
# Selection: 1810 and 1830, nominal, 30 each; held-out: 1820, nominal, 20, predicted only after the choice is committed.
# usage: WORK=/tmp/s41 sh sims.sh
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
cd ${WORK:-/tmp/s41}
(sim 1810 --n 30 --out select-1810
 sim 1820 --n 20 --out heldout-1820) &
(sim 1830 --n 30 --out select-1830) &
wait
