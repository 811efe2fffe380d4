#!/bin/sh
# round 10, after the choice: U's U-Net alone (--stages 1, its own calibrated minimums) on the held-out cohorts, for the card
. /work/main/.venv/bin/activate
cd /tmp/s18
while [ ! -f HELDOUT_DONE ]; do sleep 20; done
for SEED in 350 1040; do
  N=$SEED-u-s1
  deepmir predict --model u/deepmir-multiclass-sim-w16.json --stages 1 --input heldout-$SEED --out pred-$N > pred-$N.log 2>&1
  deepmir evaluate --prediction pred-$N --reference heldout-$SEED --out eval-$N > eval-$N.log 2>&1
done
echo done > STAGES1_DONE
