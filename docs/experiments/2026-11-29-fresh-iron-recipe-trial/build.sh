#!/bin/sh
# One build script for rounds 40-43's candidates: 0.5.4 whose iron deposits, for SWI echo times below 15 ms or not known,
# are decided by a classifier trained from fresh weights (40 epochs, the CLI's defaults, --seed CLASSIFIER_SEED) on the
# U-Net's candidates in the nominal iron-rich slabs train-SEED (TRAIN_SEEDS), proposing at PROPOSAL in training,
# calibration and detection, with 0.5.4's iron suppression rule (spares >= 8 voxels), its minimums chosen on cal-SEED
# (CAL_SEEDS, never trained on); from 15 ms by 0.5.4's iron classifier. Microbleeds: 0.5.4's microbleed classifier.
# usage: WORK=/tmp/s43 NAME=y CLASSIFIER_SEED=1 PROPOSAL=0.005 TRAIN_SEEDS="1630 1840 1910 1920" CAL_SEEDS="1650 1850" sh build.sh
#   (round 41's X: NAME=x CLASSIFIER_SEED=0, the same seeds and proposal; round 40's W: train 1630 1840, proposal 0.02)
# BASE: the folder holding 0.5.4's files, copied to m054 (default: the bundled models, which were 0.5.4 until round 43
#   shipped 0.5.5; since then give 0.5.4's, e.g. a `git worktree add FOLDER 172e4f3` and BASE=FOLDER/Resources/models)
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s43}
for seed in $TRAIN_SEEDS $CAL_SEEDS; do while [ ! -f SIM${seed}_DONE ]; do sleep 20; done; done
R=/work/main/docs/experiments/2026-11-27-long-echo-iron
M=deepmir-multiclass-sim-w16
mkdir -p m054 train-$NAME cal-$NAME
cp ${BASE:-/work/main/Resources/models}/$M.* m054/
for seed in $TRAIN_SEEDS; do ln -sfn "$PWD"/train-$seed/sim-$seed-* train-$NAME/; done
for seed in $CAL_SEEDS; do ln -sfn "$PWD"/cal-$seed/sim-$seed-* cal-$NAME/; done
python $R/one_classifier.py m054/$M.json cmb cmb-only/$M.json > one_classifier.log 2>&1
nice python -m DeepMIRLib.secondstage --model m054/$M.json --train train-$NAME --calibrate cal-$NAME --out ${NAME}new/$M.json \
  --proposal $PROPOSAL --suppression-spares iron=8 --seed $CLASSIFIER_SEED --version 0.5.5-$NAME-iron --threads 2 > ${NAME}new.log 2>&1
python -m DeepMIRLib.secondstage --per-class cmb=cmb-only/$M.json iron=${NAME}new/$M.json --base m054/$M.json \
  --out ${NAME}both/$M.json --version 0.5.5-${NAME}both > per_class_$NAME.log 2>&1
python -m DeepMIRLib.secondstage --model ${NAME}both/$M.json --long-echo 15 --long-echo-classifier iron=m054/$M.json \
  --out $NAME/$M.json --version 0.5.5-$NAME > build_$NAME.log 2>&1
echo $? > BUILD_${NAME}_DONE
