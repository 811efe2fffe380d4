#!/bin/bash
# round 29 cohorts (issue 15), in two lanes of simulations beside each other, in /tmp/s33:
# training (round 10's train-r10, simulated again): 320 nominal (30) and 1010 protocol B (30), started by hand first;
# calibration: 660 nominal (10) and 1450 protocol B (10), linked into cal-mix;
# selection: 650 nominal (20) and 1430 protocol B (20); held-out, measured after the choice: 1440 protocol A (20)
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
cd /tmp/s33
wait_for() { while [ ! -f "$1" ]; do sleep 20; done; }
lane1() { wait_for SIM320_DONE; sim 660 --n 10 --out cal-660; sim 650 --n 20 --out select-650; sim 1440 --n 20 --out heldout-1440 $A; }
lane2() { wait_for SIM1010_DONE; sim 1450 --n 10 --out cal-1450 $B; sim 1430 --n 20 --out select-1430 $B; }
lane1 & lane2 & wait
