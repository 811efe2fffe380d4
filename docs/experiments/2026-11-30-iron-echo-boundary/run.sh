#!/bin/sh
# Round 50: predict and evaluate on the cohorts of sims.sh as each is simulated; pooled counts appended to PREFIX.txt.
# usage: WORK=/tmp/s49 sh run.sh calibration   (0.5.6 = m056 and b8 on cal-2350, cal-2380; then boundary_table.py)
#        WORK=/tmp/s49 sh run.sh select        (m056 and t, a folder made by boundary.py with the chosen boundary)
#        WORK=/tmp/s49 sh run.sh heldout       (both, after the choice is committed)
RUN=/work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh
export WORK=${WORK:-/tmp/s49}
case "$1" in
  calibration) MODELS="m056 b8" nice sh $RUN cal 2350 2380 ;;
  select) MODELS="m056 t" nice sh $RUN select 2360 ;;
  heldout) MODELS="m056 t" nice sh $RUN heldout 2370 ;;
  *) echo "usage: run.sh calibration|select|heldout"; exit 2 ;;
esac
