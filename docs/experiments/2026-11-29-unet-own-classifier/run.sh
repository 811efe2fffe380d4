#!/bin/sh
# Round 46: 0.5.5 (m055, train_p.sh copies it), R (build_r.sh) and P (round 45's candidate, rebuilt by train_p.sh) on
# the selection cohorts as each is simulated; pooled counts appended to select.txt in WORK.
# usage: WORK=/tmp/s46 sh run.sh base   (then)   WORK=/tmp/s46 sh run.sh candidates
RUN=/work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh
export WORK=${WORK:-/tmp/s46}
case "$1" in
  base) MODELS="m055" nice sh $RUN select 2230 2240 ;;
  candidates) MODELS="r p" nice sh $RUN select 2230 2240 ;;
  *) echo "usage: run.sh base|candidates"; exit 2 ;;
esac
