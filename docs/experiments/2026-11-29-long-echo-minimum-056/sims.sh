#!/bin/sh
# Round 47's cohorts (protocols from ../protocols.sh), two simulations beside each other, after session 41's shipping
# cohorts: choosing the long-echo minimum, cal-b (1480, 10, and 1490, 20, protocol B: round 32's, simulated again);
# selection 2260 (20, protocol B, fresh). The held-out 2270 (20, protocol A) only after the choice: sims.sh heldout
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
cd ${WORK:-/tmp/s47}
if [ "$1" = heldout ]; then sim 2270 --n 20 $A --out heldout-2270; exit; fi
while [ ! -f SIM2250_DONE ]; do sleep 20; done
(sim 1480 --n 10 $B --out cal-1480; sim 1490 --n 20 $B --out cal-1490) &
sim 2260 --n 20 $B --out select-2260 &
wait
