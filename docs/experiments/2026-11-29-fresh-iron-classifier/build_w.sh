#!/bin/sh
# round 40: candidate W = 0.5.4 whose iron deposits, for SWI echo times below 15 ms or not known, are decided by a new
# classifier trained from fresh weights (40 epochs, the CLI's defaults) on the U-Net's candidates in 80 nominal iron-rich
# slabs (train-1630 and train-1840, 'dense' load, --slab 32), with 0.5.4's iron suppression rule (spares >= 8 voxels),
# its minimums chosen on cal-w (cal-1650 and cal-1850: 40 nominal paper-load participants, never trained on); from 15 ms
# by 0.5.4's iron classifier (0.9). Microbleeds: 0.5.4's microbleed classifier at every echo time.
# usage (beside sims.sh): WORK=/tmp/s41 sh build_w.sh
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s41}
for seed in 1630 1840 1650 1850; do while [ ! -f SIM${seed}_DONE ]; do sleep 20; done; done
R=/work/main/docs/experiments/2026-11-27-long-echo-iron
M=deepmir-multiclass-sim-w16
mkdir -p m054 train-w cal-w
cp /work/main/Resources/models/$M.* m054/
ln -sfn "$PWD"/train-1630/sim-1630-* "$PWD"/train-1840/sim-1840-* train-w/
ln -sfn "$PWD"/cal-1650/sim-1650-* "$PWD"/cal-1850/sim-1850-* cal-w/
python $R/one_classifier.py m054/$M.json cmb cmb-only/$M.json > one_classifier.log 2>&1
nice python -m DeepMIRLib.secondstage --model m054/$M.json --train train-w --calibrate cal-w --out wnew/$M.json --proposal 0.02 \
  --suppression-spares iron=8 --version 0.5.5-w-iron --threads 2 > wnew.log 2>&1
python -m DeepMIRLib.secondstage --per-class cmb=cmb-only/$M.json iron=wnew/$M.json --base m054/$M.json \
  --out wboth/$M.json --version 0.5.5-wboth > per_class_w.log 2>&1
python -m DeepMIRLib.secondstage --model wboth/$M.json --long-echo 15 --long-echo-classifier iron=m054/$M.json \
  --out w/$M.json --version 0.5.5-w > build_w.log 2>&1
echo $? > BUILD_w_DONE
