#!/bin/sh
# round 20: candidate D, the default 0.5.3 with both classifiers trained further (10 epochs, learning rate 3e-4) on the
# candidates of its U-Net in train-r20 (28 thick-slice protocol T participants, --load hard), put together per class
# with 0.5.3's U-Net, and every minimum probability chosen again by `deepmir calibrate` on 440.
# The fine-tunes' own calibrations use cal-small (10 of 440); deepmir calibrate replaces what they chose.
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s26}
R=/work/main/docs/experiments/2026-11-27-long-echo-iron
M=deepmir-multiclass-sim-w16
mkdir -p m053 train-r20 cal-small
cp /work/main/Resources/models/$M.* m053/
ln -sfn "$PWD"/train-1190/sim-1190-* "$PWD"/train-1200/sim-1200-* train-r20/
for i in 0000 0001 0002 0003 0004 0005 0006 0007 0008 0009; do ln -sfn /tmp/s23/select-440/sim-440-$i cal-small/; done
python $R/one_classifier.py m053/$M.json cmb cmb-only/$M.json > one_classifier.log 2>&1
python $R/one_classifier.py m053/$M.json iron iron-only/$M.json >> one_classifier.log 2>&1
python -m DeepMIRLib.secondstage --model cmb-only/$M.json --train train-r20 --calibrate cal-small --out cfine/$M.json \
  --proposal 0.02 --extrema -3.5 2 --fine-tune --epochs 10 --learning-rate 3e-4 --version 0.5.4-cmb --threads 1 > cfine.log 2>&1 &
python -m DeepMIRLib.secondstage --model iron-only/$M.json --train train-r20 --calibrate cal-small --out ifine/$M.json \
  --proposal 0.02 --fine-tune --epochs 10 --learning-rate 3e-4 --version 0.5.4-iron --threads 1 > ifine.log 2>&1 &
wait
python -m DeepMIRLib.secondstage --per-class cmb=cfine/$M.json iron=ifine/$M.json --base m053/$M.json \
  --out d-raw/$M.json --version 0.5.4-d > per_class.log 2>&1
deepmir calibrate --model d-raw/$M.json --data /tmp/s23/select-440 --out d/$M --version 0.5.4-d > calibrate_d.log 2>&1
echo $? > BUILD_D_DONE
