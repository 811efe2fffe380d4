#!/bin/sh
# Round 49: 0.5.6 (m056) and the chosen candidate K (k, a link to k-ALPHA made once alpha.txt names it) on the cohorts of
# sims.sh as each is simulated; pooled counts appended to select.txt / heldout.txt in WORK.
# usage: WORK=/tmp/s49 sh run.sh base   (0.5.6 on the selection cohorts, any time)
#        WORK=/tmp/s49 sh run.sh select (K, once chosen)   then, after the choice is committed: sh run.sh heldout
RUN=/work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh
export WORK=${WORK:-/tmp/s49}
case "$1" in
  base) MODELS="m056" nice sh $RUN select 2290 2300 2310 ;;
  select) MODELS="k" nice sh $RUN select 2290 2300 2310 ;;
  heldout) MODELS="m056 k" nice sh $RUN heldout 2320 2330 ;;
  *) echo "usage: run.sh base|select|heldout"; exit 2 ;;
esac
