#!/bin/sh
# round 35: candidate Q, the default 0.5.4 with only its iron classifier fine-tuned again, on candidates of 80 slab
# participants with the 'dense' load (train-1630 nominal and train-1640 protocol B, 40 each: sims.sh): 10 epochs, learning
# rate 3e-4, the U-Net's components of lesion probability >= 0.02 (the proposals it was trained and is run with), its
# minimum chosen on cal-nb (cal-1650 nominal and cal-1660 protocol B, 20 each, never trained on). Q keeps 0.5.4's U-Net,
# its microbleed classifier (listed first) with that one's minimums, the long-echo one included.
# usage (beside sims.sh): WORK=/tmp/s37 sh build_q.sh
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s37}
for seed in 1630 1640 1650 1660; do while [ ! -f SIM${seed}_DONE ]; do sleep 20; done; done
R=/work/main/docs/experiments/2026-11-27-long-echo-iron
M=deepmir-multiclass-sim-w16
mkdir -p m054 train-q cal-nb
cp /work/main/Resources/models/$M.* m054/
ln -sfn "$PWD"/train-1630/sim-1630-* "$PWD"/train-1640/sim-1640-* train-q/
ln -sfn "$PWD"/cal-1650/sim-1650-* "$PWD"/cal-1660/sim-1660-* cal-nb/
python $R/one_classifier.py m054/$M.json cmb cmb-only/$M.json > one_classifier.log 2>&1
python $R/one_classifier.py m054/$M.json iron iron-only/$M.json >> one_classifier.log 2>&1
python -m DeepMIRLib.secondstage --model iron-only/$M.json --train train-q --calibrate cal-nb --out qfine/$M.json \
  --proposal 0.02 --fine-tune --epochs 10 --learning-rate 3e-4 --version 0.5.5-q-iron --threads 2 > qfine.log 2>&1
python -m DeepMIRLib.secondstage --per-class cmb=cmb-only/$M.json iron=qfine/$M.json --base m054/$M.json \
  --out q/$M.json --version 0.5.5-q > per_class_q.log 2>&1
echo $? > BUILD_q_DONE
