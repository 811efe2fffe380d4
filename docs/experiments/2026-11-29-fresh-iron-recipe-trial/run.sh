#!/bin/sh
# round 42's predictions and evaluations, pooled counts appended to select.txt or heldout.txt in WORK (default /tmp/s43);
# for another candidate of build.sh's recipe give NAME, SELECTION and HELDOUT (defaults: round 42's y, 1990-2030, 2040):
#   sh run.sh base       0.5.4 (a copy of BASE's files as m054; BASE as in build.sh) on the selection cohorts, as each is simulated
#   sh run.sh candidate  NAME on the selection cohorts, after build.sh; then python ../2026-11-29-iron-classifier-more-slabs/choose.py y 1990 2000 2010 2020 2030
#   sh run.sh heldout    after the choice is committed: 0.5.4 and NAME on the held-out cohort, then participant means with
#                        intervals: for f in eval-2040-m054 eval-2040-y; do python ../2026-11-26-larger-heldout/intervals.py $f; done
RUN=/work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh
WORK=${WORK:-/tmp/s43}
NAME=${NAME:-y}
SELECTION=${SELECTION:-"1990 2000 2010 2020 2030"}
HELDOUT=${HELDOUT:-2040}
export WORK
case $1 in
  base) mkdir -p $WORK/m054 && cp ${BASE:-/work/main/Resources/models}/deepmir-multiclass-sim-w16.* $WORK/m054/
        MODELS="m054" nice sh $RUN select $SELECTION ;;
  candidate) MODELS="$NAME" nice sh $RUN select $SELECTION ;;
  heldout) MODELS="m054 $NAME" sh $RUN heldout $HELDOUT ;;
  *) echo "usage: [WORK=FOLDER NAME=CANDIDATE SELECTION=\"SEED...\" HELDOUT=\"SEED...\"] sh run.sh base|candidate|heldout" >&2; exit 2 ;;
esac
