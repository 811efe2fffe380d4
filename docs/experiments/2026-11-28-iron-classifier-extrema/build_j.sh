#!/bin/sh
# round 24: candidate J, the default 0.5.3 with only its iron classifier fine-tuned again, now on candidates that include the
# extremum proposals (local SWI minima below -3.5 SD beside a QSM maximum above 2 SD that the U-Net does not propose, as
# 0.5.3's microbleed classifier has), in training, calibration and detection: 10 epochs, learning rate 3e-4, on train-r10
# (the 60 participants its last fine-tune used), its minimums chosen on cal-310 (30 nominal participants never trained on).
# J keeps 0.5.3's U-Net, its microbleed classifier (listed first: it wins where both claim a voxel) and that one's minimums.
# usage (after sims.sh has made train-320, train-1010 and cal-310): WORK=/tmp/s29 sh build_j.sh
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s29}
for seed in 320 1010 310; do while [ ! -f SIM${seed}_DONE ]; do sleep 20; done; done
R=/work/main/docs/experiments/2026-11-27-long-echo-iron
M=deepmir-multiclass-sim-w16
mkdir -p m053 train-r10
cp /work/main/Resources/models/$M.* m053/
ln -sfn "$PWD"/train-320/sim-320-* "$PWD"/train-1010/sim-1010-* train-r10/
python $R/one_classifier.py m053/$M.json cmb cmb-only/$M.json > one_classifier.log 2>&1
python $R/one_classifier.py m053/$M.json iron iron-only/$M.json >> one_classifier.log 2>&1
python -m DeepMIRLib.secondstage --model iron-only/$M.json --train train-r10 --calibrate cal-310 --out jfine/$M.json \
  --proposal 0.02 --extrema -3.5 2 --fine-tune --epochs 10 --learning-rate 3e-4 --version 0.5.4-j-iron --threads 1 > jfine.log 2>&1
python -m DeepMIRLib.secondstage --per-class cmb=cmb-only/$M.json iron=jfine/$M.json --base m053/$M.json \
  --out j/$M.json --version 0.5.4-j > per_class.log 2>&1
echo $? > BUILD_j_DONE
