#!/bin/sh
# round 42's predictions and evaluations (in /tmp/s43), pooled counts appended to select.txt or heldout.txt:
#   sh run.sh base       0.5.4 (a copy of the bundled default as m054) on the selection cohorts, as each is simulated
#   sh run.sh candidate  Y on the selection cohorts, after build.sh; then python ../2026-11-29-iron-classifier-more-slabs/choose.py y 1990 2000 2010 2020 2030
#   sh run.sh heldout    after the choice is committed: 0.5.4 and Y on the held-out cohort, then participant means with
#                        intervals: for f in eval-2040-m054 eval-2040-y; do python ../2026-11-26-larger-heldout/intervals.py $f; done
RUN=/work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh
SELECTION="1990 2000 2010 2020 2030"
case $1 in
  base) mkdir -p /tmp/s43/m054 && cp /work/main/Resources/models/deepmir-multiclass-sim-w16.* /tmp/s43/m054/
        WORK=/tmp/s43 MODELS="m054" nice sh $RUN select $SELECTION ;;
  candidate) WORK=/tmp/s43 MODELS="y" nice sh $RUN select $SELECTION ;;
  heldout) WORK=/tmp/s43 MODELS="m054 y" sh $RUN heldout 2040 ;;
  *) echo "usage: sh run.sh base|candidate|heldout" >&2; exit 2 ;;
esac
