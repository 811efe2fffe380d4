#!/bin/bash
# round 29 in /tmp/s33: build H once its training and calibration cohorts are simulated; predict and evaluate 0.5.3 (m053)
# and H on the selection cohorts, then on the held-out one (round 12's run_cohorts.sh)
cd /tmp/s33
HERE=/work/main/docs/experiments/2026-11-28-contrast-augmented-microbleeds
RUN=/work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh
for f in SIM320_DONE SIM1010_DONE SIM660_DONE SIM1450_DONE; do while [ ! -f $f ]; do sleep 20; done; done
$HERE/build_h.sh &
WORK=/tmp/s33 MODELS="m053 h" nice $RUN select 650 1430
WORK=/tmp/s33 MODELS="m053 h" nice $RUN heldout 1440
wait
