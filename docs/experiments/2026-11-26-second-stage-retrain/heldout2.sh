#!/bin/sh
# held-out cohorts 220 (nominal) and 920 (unseen protocol): each model NAME=PATH[:STAGES]
. /work/main/.venv/bin/activate
RUN=${RUN:-/tmp/s9}
cd $RUN
for S in 230 930; do
  for M in "$@"; do
    N=${M%%=*}; P=${M#*=}; ST=2
    case $P in *:1) P=${P%:1}; ST=1;; esac
    deepmir predict --model $P --stages $ST --input heldout-$S --out pred-$S-$N > pred-$S-$N.log 2>&1
    deepmir evaluate --prediction pred-$S-$N --reference heldout-$S --out eval-$S-$N > eval-$S-$N.log 2>&1
    python3 /work/main/docs/experiments/2026-11-26-paper-load-calibration/pooled.py eval-$S-$N >> heldout2.txt
  done
done
