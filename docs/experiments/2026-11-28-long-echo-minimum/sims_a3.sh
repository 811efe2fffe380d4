#!/bin/bash
# round 32, after 1530 and 1540 were read: two more fresh protocol A cohorts, 1550 and 1560 (20 each), for 0.5.3 and
# 0.5.4 (F), reported whatever they say (a measurement: nothing is chosen from them)
source /work/main/docs/experiments/protocols.sh
export PATH=/work/main/.venv/bin:$PATH
cd /tmp/s35
(eval sim 1550 --n 20 $A --out heldout-1550) &
(eval sim 1560 --n 20 $A --out heldout-1560) &
wait
WORK=/tmp/s35 MODELS="m053 f" nice /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh heldout 1550 1560
