#!/bin/sh
# round 44's second part: the four held-out protocol A cohorts of rounds 35-41 (1700, 1740, 1780, 1980; 20 each)
# simulated again with their seeds and options, two at a time, niced; each writes SIMSEED_DONE.
# usage: WORK=/tmp/s45 sh sims_a.sh
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
cd ${WORK:-/tmp/s45}
(sim 1700 --n 20 $A --out heldout-1700
 sim 1780 --n 20 $A --out heldout-1780) &
(sim 1740 --n 20 $A --out heldout-1740
 sim 1980 --n 20 $A --out heldout-1980) &
wait
