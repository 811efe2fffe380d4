#!/bin/sh
# round 8: the default model (a copy of its card, $1) with two stages and with --stages 1 on held-out 310 (60, nominal) and 1000 (40, unseen protocol)
. /work/main/.venv/bin/activate
cd /tmp/s16
HERE=/work/main/docs/experiments/2026-11-26-larger-heldout
POOLED=/work/main/docs/experiments/2026-11-26-paper-load-calibration/pooled.py
MODEL=$1
cohort() {  # seed, done-file of its simulation
  while [ ! -f $2 ]; do sleep 20; done
  for STAGES in 2 1; do
    N=$1-s$STAGES
    deepmir predict --model $MODEL --stages $STAGES --input heldout-$1 --out pred-$N > pred-$N.log 2>&1
    deepmir evaluate --prediction pred-$N --reference heldout-$1 --out eval-$N > eval-$N.log 2>&1
    python3 $POOLED eval-$N >> heldout.txt 2>&1
    python3 $HERE/intervals.py eval-$N >> heldout.txt 2>&1
  done
}
cohort 310 SIM310_DONE
cohort 1000 SIM1000_DONE
echo done > HELDOUT_DONE
