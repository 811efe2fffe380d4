#!/bin/sh
# round 12: predict and evaluate MODELS (default "m051 c") on the cohorts PREFIX-SEED (PREFIX select or heldout), each
# after its simulation (sims.sh) and each model after it is built; pooled counts appended to PREFIX.txt
# usage: [WORK=FOLDER] [MODELS="A B"] run_cohorts.sh PREFIX SEED...  (rounds 13 and 14 ran it in /tmp/s21)
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s20}
POOLED=/work/main/docs/experiments/2026-11-26-paper-load-calibration/pooled.py
PREFIX=$1; shift
for SEED in "$@"; do
  while [ ! -f SIM${SEED}_DONE ]; do sleep 20; done
  for M in ${MODELS:-m051 c}; do
    while [ ! -f $M/deepmir-multiclass-sim-w16.json ]; do sleep 20; done
    N=$SEED-$M
    deepmir predict --model $M/deepmir-multiclass-sim-w16.json --input $PREFIX-$SEED --out pred-$N > pred-$N.log 2>&1
    deepmir evaluate --prediction pred-$N --reference $PREFIX-$SEED --out eval-$N > eval-$N.log 2>&1
    echo "$PREFIX-$SEED $M:" >> $PREFIX.txt
    python3 $POOLED eval-$N >> $PREFIX.txt 2>&1
  done
done
echo done > ${PREFIX}_DONE
