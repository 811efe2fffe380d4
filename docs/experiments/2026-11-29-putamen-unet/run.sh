#!/bin/sh
# Round 45: 0.5.5 (m055, train_p.sh copies it) and P on the selection cohorts (select) or, once P is chosen, the
# held-out ones (heldout), each as it is simulated; pooled counts appended to select.txt / heldout.txt in WORK.
# usage: WORK=/tmp/s45 sh run.sh select|heldout
RUN=/work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh
export WORK=${WORK:-/tmp/s45}
case "$1" in
  select) MODELS="m055 p" nice sh $RUN select 2180 2190 ;;
  heldout) MODELS="m055 p" nice sh $RUN heldout 2200 2210 ;;
  *) echo "usage: run.sh select|heldout"; exit 2 ;;
esac
