#!/bin/bash
# round 31's cohorts (issue 15), in /tmp/s34, two simulations beside each other (protocols from ../protocols.sh):
# training (round 10's train-r10, simulated again, now with each SWI's sidecar): 320 nominal (30), 1010 protocol B (30);
# calibration: 680 nominal (10) and 1480 protocol B (10), linked into cal-mix;
# selection: 690 nominal (20) and 1490 protocol B (20); held-out, measured after the choice: 1500 protocol A (20)
# (run as written but for the unused helper `pair`, removed here)
source /work/main/docs/experiments/protocols.sh
export PATH=/work/main/.venv/bin:$PATH
cd /tmp/s34
s1() { sim 320 --n 30 --out train-320; }
s2() { eval sim 1010 --n 30 $B --out train-1010; }
s1 & s2 & wait
(sim 680 --n 10 --out cal-680; sim 690 --n 20 --out select-690) &
(eval sim 1480 --n 10 $B --out cal-1480; eval sim 1490 --n 20 $B --out select-1490) &
wait
eval sim 1500 --n 20 $A --out heldout-1500
touch ALLSIMS_DONE
