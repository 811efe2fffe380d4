#!/bin/sh
# round 41: candidate X = 0.5.4 whose iron deposits, for SWI echo times below 15 ms or not known, are decided by a new
# classifier trained from fresh weights (40 epochs, the CLI's defaults) on the U-Net's candidates (arg-max components and
# components of lesion probability >= 0.02 and >= 0.005) in 160 nominal iron-rich slabs (train-1630, train-1840,
# train-1910, train-1920; 'dense' load, --slab 32), proposing at 0.005 in calibration and detection, with 0.5.4's iron
# suppression rule (spares >= 8 voxels), its minimums chosen on cal-x (cal-1650 and cal-1850: 40 nominal paper-load
# participants, never trained on); from 15 ms by 0.5.4's iron classifier (0.9). Microbleeds: 0.5.4's microbleed
# classifier at every echo time. Round 40's build_w.sh with twice the slabs and the lower proposal.
# usage (beside sims.sh): WORK=/tmp/s42 sh build_x.sh
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s42}
for seed in 1910 1920 1630 1840 1650 1850; do while [ ! -f SIM${seed}_DONE ]; do sleep 20; done; done
R=/work/main/docs/experiments/2026-11-27-long-echo-iron
M=deepmir-multiclass-sim-w16
mkdir -p m054 train-x cal-x
cp /work/main/Resources/models/$M.* m054/
for seed in 1630 1840 1910 1920; do ln -sfn "$PWD"/train-$seed/sim-$seed-* train-x/; done
ln -sfn "$PWD"/cal-1650/sim-1650-* "$PWD"/cal-1850/sim-1850-* cal-x/
python $R/one_classifier.py m054/$M.json cmb cmb-only/$M.json > one_classifier.log 2>&1
nice python -m DeepMIRLib.secondstage --model m054/$M.json --train train-x --calibrate cal-x --out xnew/$M.json --proposal 0.005 \
  --suppression-spares iron=8 --version 0.5.5-x-iron --threads 2 > xnew.log 2>&1
python -m DeepMIRLib.secondstage --per-class cmb=cmb-only/$M.json iron=xnew/$M.json --base m054/$M.json \
  --out xboth/$M.json --version 0.5.5-xboth > per_class_x.log 2>&1
python -m DeepMIRLib.secondstage --model xboth/$M.json --long-echo 15 --long-echo-classifier iron=m054/$M.json \
  --out x/$M.json --version 0.5.5-x > build_x.log 2>&1
echo $? > BUILD_x_DONE
