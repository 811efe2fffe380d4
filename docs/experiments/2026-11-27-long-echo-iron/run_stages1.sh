#!/bin/sh
# round 11, after the choice: I's U-Net alone (--stages 1, its own calibrated minimums) on the held-out cohorts, for the card
. /work/main/.venv/bin/activate
cd /tmp/s19
for SEED in 370 1060; do
  N=$SEED-i-s1
  deepmir predict --model i/deepmir-multiclass-sim-w16.json --stages 1 --input heldout-$SEED --out pred-$N > pred-$N.log 2>&1
  deepmir evaluate --prediction pred-$N --reference heldout-$SEED --out eval-$N > eval-$N.log 2>&1
done
echo done > STAGES1_DONE
