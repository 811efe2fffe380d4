#!/bin/sh
# Round 47 in WORK (/tmp/s47): G (build_g.sh), then 0.5.6 (m056) and G on the selection cohort 2260;
# `run.sh heldout`, after the choice is committed: both on 2270 (fresh A), 2210 (A) and 2250 (B), not fresh
RUN=/work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh
HERE=/work/main/docs/experiments/2026-11-29-long-echo-minimum-056
export WORK=${WORK:-/tmp/s47}
case "$1" in
  select) sh $HERE/build_g.sh && MODELS="m056 g" nice sh $RUN select 2260 ;;
  heldout) MODELS="m056 g" nice sh $RUN heldout 2270 2210 2250 ;;
  *) echo "usage: run.sh select|heldout"; exit 2 ;;
esac
