#!/bin/bash
# round 31 in /tmp/s34: build E once its training and calibration cohorts are simulated; predict and evaluate 0.5.3 (m053)
# and E on the selection cohorts, then on the held-out one (round 12's run_cohorts.sh)
cd /tmp/s34
HERE=/work/main/docs/experiments/2026-11-28-echo-time-microbleeds
RUN=/work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh
for f in SIM320_DONE SIM1010_DONE SIM680_DONE SIM1480_DONE; do while [ ! -f $f ]; do sleep 20; done; done
$HERE/build_e.sh &
while [ ! -d m053 ]; do sleep 5; done
WORK=/tmp/s34 MODELS="m053 e" nice $RUN select 690 1490
WORK=/tmp/s34 MODELS="m053 e" nice $RUN heldout 1500
wait
