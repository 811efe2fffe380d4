#!/bin/sh
# round 36's held-out cohorts (seeds used nowhere before), simulated while the selection runs and predicted only after
# the choice is committed: 1730 nominal (40), then 1740 the unseen protocol A (20), one at a time after sims.sh's
# cohorts (as run: the first version, two at a time, was stopped before it simulated anything, to leave Q's build a core)
# usage: WORK=/tmp/s38 sh sims_heldout.sh
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
cd ${WORK:-/tmp/s38}
while [ ! -f SIM1720_DONE ]; do sleep 20; done
sim 1730 --n 40 --out heldout-1730
sim 1740 --n 20 $A --out heldout-1740
