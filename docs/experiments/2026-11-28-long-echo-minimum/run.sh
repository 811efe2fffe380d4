#!/bin/sh
# round 32 in /tmp/s35: build F once cal-b is simulated; predict and evaluate 0.5.3 (m053) and F on the selection
# cohort 1520 (round 12's run_cohorts.sh); the held-out 1510 only after the choice is committed (run_heldout.sh)
cd /tmp/s35
HERE=/work/main/docs/experiments/2026-11-28-long-echo-minimum
RUN=/work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh
for f in SIM1480_DONE SIM1490_DONE; do while [ ! -f $f ]; do sleep 20; done; done
$HERE/build_f.sh
WORK=/tmp/s35 MODELS="m053 f" nice $RUN select 1520
WORK=/tmp/s35 MODELS="m053 f" nice $RUN nominal 630
/work/main/.venv/bin/python $HERE/same_nominal.py > same_nominal.txt 2>&1
