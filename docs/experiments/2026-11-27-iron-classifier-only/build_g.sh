#!/bin/sh
# round 22: candidate G, the default 0.5.3 with only its iron classifier replaced by round 20's fine-tune of it
# (10 epochs, learning rate 3e-4, on the candidates of 0.5.3's U-Net in train-r20: 28 protocol T participants,
# --load hard), the command of round 20's build_d.sh. G keeps 0.5.3's U-Net, its microbleed classifier and
# every minimum of those; the iron classifier keeps the minimum its fine-tune's calibration chose (10 of 440).
# usage (after sims.sh has made train-1190, train-1200 and cal-440): WORK=/tmp/s27 sh build_g.sh
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s27}
R=/work/main/docs/experiments/2026-11-27-long-echo-iron
M=deepmir-multiclass-sim-w16
mkdir -p m053 train-r20
cp /work/main/Resources/models/$M.* m053/
ln -sfn "$PWD"/train-1190/sim-1190-* "$PWD"/train-1200/sim-1200-* train-r20/
python $R/one_classifier.py m053/$M.json cmb cmb-only/$M.json > one_classifier.log 2>&1
python $R/one_classifier.py m053/$M.json iron iron-only/$M.json >> one_classifier.log 2>&1
python -m DeepMIRLib.secondstage --model iron-only/$M.json --train train-r20 --calibrate cal-440 --out ifine/$M.json \
  --proposal 0.02 --fine-tune --epochs 10 --learning-rate 3e-4 --version 0.5.4-g-iron --threads 1 > ifine.log 2>&1
python -m DeepMIRLib.secondstage --per-class cmb=cmb-only/$M.json iron=ifine/$M.json --base m053/$M.json \
  --out g/$M.json --version 0.5.4-g > per_class.log 2>&1
echo $? > BUILD_g_DONE
