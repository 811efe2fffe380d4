#!/bin/sh
# Round 46's held-out cohorts (round 45 planned them and never simulated them), simulated only after R was chosen
# (choose.txt committed): 2200 (20 nominal, paper load) and 2210 (20, protocol A), at once; each writes SIMSEED_DONE.
# usage: WORK=/tmp/s46 sh sims_heldout.sh
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
cd ${WORK:-/tmp/s46}
sim 2200 --n 20 --out heldout-2200 &
sim 2210 --n 20 $A --out heldout-2210 &
wait
