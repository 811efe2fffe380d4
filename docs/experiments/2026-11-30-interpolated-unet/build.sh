#!/bin/sh
# Round 49: for each ALPHA, I-ALPHA = 0.5.6 whose U-Net is (1 - ALPHA) x 0.5.5's + ALPHA x 0.5.6's (interpolate.py), its
# microbleed minimum for SWI echo times from 15 ms chosen on cal-b (round 32's command; le-ALPHA); where that table finds
# at least 59 of cal-b's 62 microbleeds at 0.05, the nominal minimums chosen again on cal-nom (deepmir calibrate, round
# 46's command: k-ALPHA, the candidate). m055 and m056 hold 0.5.5's and 0.5.6's files (all of them: load_model checks the int8).
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s49}
R=/work/main/docs/experiments/2026-11-30-interpolated-unet
M=deepmir-multiclass-sim-w16
for f in SIM1480_DONE SIM1490_DONE; do while [ ! -f $f ]; do sleep 20; done; done
mkdir -p cal-b cal-nom
for d in cal-b-1480/sim-* cal-b-1490/sim-*; do ln -sfn $PWD/$d cal-b/; done
for ALPHA in 0.25 0.5 0.75; do
  python $R/interpolate.py m055/$M.json m056/$M.json $ALPHA i-$ALPHA/$M.json 0.5.7-i$ALPHA > interpolate-$ALPHA.log 2>&1
  nice python -m DeepMIRLib.secondstage --model i-$ALPHA/$M.json --long-echo 15 --long-echo-classes cmb --calibrate cal-b \
    --out le-$ALPHA/$M.json --version 0.5.7-i$ALPHA-le > le-$ALPHA.log 2>&1
done
for f in SIM1650_DONE SIM1850_DONE; do while [ ! -f $f ]; do sleep 20; done; done
for d in cal-nom-1650/sim-* cal-nom-1850/sim-*; do ln -sfn $PWD/$d cal-nom/; done
for ALPHA in $(python $R/alpha.py long-echo 0.25 0.5 0.75); do
  nice deepmir calibrate --model le-$ALPHA/$M.json --data cal-nom --out k-$ALPHA/$M --version 0.5.7-k$ALPHA > calibrate-$ALPHA.log 2>&1
done
python $R/alpha.py choose 0.25 0.5 0.75 > alpha.txt 2>&1
echo $? > BUILD_DONE
