#!/bin/bash
# round 32's cohorts (issue 15), in /tmp/s35, two simulations beside each other (protocols from ../protocols.sh):
# choosing the long-echo minimum: 1480 (10) and 1490 (20) on protocol B (round 31's cal-1480 and select-1490, simulated again);
# selection: 1520 on protocol B (20, fresh); held-out, measured after the choice: 1510 on protocol A (20, fresh)
source /work/main/docs/experiments/protocols.sh
export PATH=/work/main/.venv/bin:$PATH
cd /tmp/s35
(eval sim 1480 --n 10 $B --out cal-1480; eval sim 1490 --n 20 $B --out cal-1490) &
(eval sim 1520 --n 20 $B --out select-1520; eval sim 1510 --n 20 $A --out heldout-1510) &
wait
touch ALLSIMS_DONE
