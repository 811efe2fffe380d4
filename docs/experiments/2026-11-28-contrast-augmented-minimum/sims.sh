#!/bin/bash
# round 30 cohorts (issue 15), simulated in /tmp/s33 while round 29's diagnostic ran, before any candidate was fixed:
# selection 670 nominal (20) and 1460 protocol B (20); held-out, measured after the choice: 1470 protocol A (20)
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
cd /tmp/s33
lane1() { sim 670 --n 20 --out select-670; sim 1470 --n 20 --out heldout-1470 $A; }
lane2() { sim 1460 --n 20 --out select-1460 $B; }
lane1 & lane2 & wait
