#!/bin/sh
# round 20: candidate D, the default 0.5.3 with both classifiers trained further (10 epochs, learning rate 3e-4) on the
# candidates of its U-Net in train-r20 (28 thick-slice protocol T participants, --load hard), put together per class
# with 0.5.3's U-Net, and every minimum probability chosen again by `deepmir calibrate` on 440.
# The fine-tunes' own calibrations use cal-small (10 of 440); deepmir calibrate replaces what they chose.
# Round 21 runs it again with TRAIN=train-r21 OUT=e TAG=e- VERSION=0.5.4-e (defaults: round 20's names).
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s26}
R=/work/main/docs/experiments/2026-11-27-long-echo-iron
M=deepmir-multiclass-sim-w16
TRAIN=${TRAIN:-train-r20} OUT=${OUT:-d} TAG=${TAG:-} VERSION=${VERSION:-0.5.4-d}
mkdir -p m053 train-r20 cal-small
cp /work/main/Resources/models/$M.* m053/
ln -sfn "$PWD"/train-1190/sim-1190-* "$PWD"/train-1200/sim-1200-* train-r20/
for i in 0000 0001 0002 0003 0004 0005 0006 0007 0008 0009; do ln -sfn /tmp/s23/select-440/sim-440-$i cal-small/; done
python $R/one_classifier.py m053/$M.json cmb cmb-only/$M.json > one_classifier.log 2>&1
python $R/one_classifier.py m053/$M.json iron iron-only/$M.json >> one_classifier.log 2>&1
python -m DeepMIRLib.secondstage --model cmb-only/$M.json --train $TRAIN --calibrate cal-small --out ${TAG}cfine/$M.json \
  --proposal 0.02 --extrema -3.5 2 --fine-tune --epochs 10 --learning-rate 3e-4 --version $VERSION-cmb --threads 1 > ${TAG}cfine.log 2>&1 &
python -m DeepMIRLib.secondstage --model iron-only/$M.json --train $TRAIN --calibrate cal-small --out ${TAG}ifine/$M.json \
  --proposal 0.02 --fine-tune --epochs 10 --learning-rate 3e-4 --version $VERSION-iron --threads 1 > ${TAG}ifine.log 2>&1 &
wait
python -m DeepMIRLib.secondstage --per-class cmb=${TAG}cfine/$M.json iron=${TAG}ifine/$M.json --base m053/$M.json \
  --out $OUT-raw/$M.json --version $VERSION > ${TAG}per_class.log 2>&1
deepmir calibrate --model $OUT-raw/$M.json --data /tmp/s23/select-440 --out $OUT/$M --version $VERSION > calibrate_$OUT.log 2>&1
echo $? > BUILD_${OUT}_DONE
