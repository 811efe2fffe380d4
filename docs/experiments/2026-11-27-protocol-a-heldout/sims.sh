#!/bin/sh
# round 19's held-out cohorts, seeds used nowhere before: nominal 470 (40) and the unseen protocol A 1180 (40);
# each is predicted and evaluated with the default model (0.5.3) once its simulation ends.
# usage: sims.sh nominal | a   (run both at once, one per core; WORK defaults to /tmp/s25)
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s25}
A="--spacing 0.8 0.8 2.0 --size 240 320 78 --echo-times 20 28 36 44 --b0 0 0.173648 0.984808 --noise-scale 1.5 --gre-bias 0.2"
if [ "$1" = nominal ]; then SEED=470; OPTIONS=""; else SEED=1180; OPTIONS="$A"; fi
deepmir simulate --n 40 --seed $SEED --out heldout-$SEED $OPTIONS > sim$SEED.log 2>&1 || exit 1
deepmir predict --model default --input heldout-$SEED --out pred-$SEED > pred-$SEED.log 2>&1 || exit 1
deepmir evaluate --prediction pred-$SEED --reference heldout-$SEED --out eval-$SEED > eval-$SEED.log 2>&1
echo $? > DONE$SEED
