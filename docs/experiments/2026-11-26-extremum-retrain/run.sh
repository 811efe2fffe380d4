#!/bin/sh
# round 3: build A, make B, select on 760 (0.4.2, A, B), then held-out 250 and 950 for all three
. /work/main/.venv/bin/activate
cd /tmp/s11
R=/work/main/docs/experiments/2026-11-26-extremum-retrain
POOLED=/work/main/docs/experiments/2026-11-26-paper-load-calibration/pooled.py
date > train.start
python -m DeepMIRLib.secondstage --model default --train train-77 --calibrate /tmp/s8/calib-730 --out a/deepmir-multiclass-sim-w16.json --proposal 0.02 --extrema -3.5 2 --fine-tune --epochs 10 --learning-rate 3e-4 --version 0.4.3 --threads 2 > train.log 2>&1
echo $? > TRAIN_DONE
date >> train.start
python $R/make_decides.py a/deepmir-multiclass-sim-w16.json b/deepmir-multiclass-sim-w16 > make_b.log 2>&1
for X in 042=default a=a/deepmir-multiclass-sim-w16.json b=b/deepmir-multiclass-sim-w16.json; do
  N=${X%%=*}; P=${X#*=}
  deepmir predict --model $P --input /tmp/next/select-760 --out pred-760-$N > pred-760-$N.log 2>&1
  deepmir evaluate --prediction pred-760-$N --reference /tmp/next/select-760 --out eval-760-$N > eval-760-$N.log 2>&1
done
python3 $POOLED eval-760-042 eval-760-a eval-760-b > select760.txt 2>&1
echo done > SELECT_DONE
for S in 250 950; do
  for X in 042=default a=a/deepmir-multiclass-sim-w16.json b=b/deepmir-multiclass-sim-w16.json; do
    N=${X%%=*}; P=${X#*=}
    deepmir predict --model $P --input /tmp/next/heldout-$S --out pred-$S-$N > pred-$S-$N.log 2>&1
    deepmir evaluate --prediction pred-$S-$N --reference /tmp/next/heldout-$S --out eval-$S-$N > eval-$S-$N.log 2>&1
    python3 $POOLED eval-$S-$N >> heldout.txt 2>&1
  done
done
echo done > HELDOUT_DONE
