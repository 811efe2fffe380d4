#!/bin/sh
# Round 46: 0.5.5 (m055, train_p.sh copies it), R (build_r.sh) and P (round 45's candidate, rebuilt by train_p.sh) on
# the selection cohorts as each is simulated; pooled counts appended to select.txt in WORK.
# usage: WORK=/tmp/s46 sh run.sh base   (then)   WORK=/tmp/s46 sh run.sh candidates
#   once R is chosen: WORK=/tmp/s46 sh run.sh heldout   (0.5.5 and R on sims_heldout.sh's cohorts; heldout.txt)
RUN=/work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh
export WORK=${WORK:-/tmp/s46}
case "$1" in
  base) MODELS="m055" nice sh $RUN select 2230 2240 ;;
  candidates) MODELS="r p" nice sh $RUN select 2230 2240 ;;
  heldout) MODELS="m055 r" nice sh $RUN heldout 2200 2210 ;;
  *) echo "usage: run.sh base|candidates|heldout"; exit 2 ;;
esac
