#!/bin/bash
# round 32, after 0.5.4 shipped: two more fresh protocol A cohorts, 1530 and 1540 (10 each), measured whatever they say
source /work/main/docs/experiments/protocols.sh
export PATH=/work/main/.venv/bin:$PATH
cd /tmp/s35
(eval sim 1530 --n 10 $A --out heldout-1530) &
(eval sim 1540 --n 10 $A --out heldout-1540) &
wait
WORK=/tmp/s35 MODELS="m053 f" nice /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh heldout 1530 1540
