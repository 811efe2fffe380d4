#!/bin/sh
# Round 46's candidate R: round 45's fine-tuned U-Net (train_p.sh, rebuilt: unet-r45) with 0.5.5's second stage made
# again for it by round 43's recipe: 0.5.4's files with that U-Net (make_p.py) as build.sh's BASE, a fresh iron
# classifier (seed 2, proposals from 0.005, 40 epochs) trained on its candidates in train-1630, -1840, -1910 and -1920, then every
# minimum the nominal cohorts decide chosen again on cal-1650 and cal-1850 (deepmir calibrate: the U-Net alone's, the
# microbleed classifier's and the new iron classifier's; the long-echo iron classifier's and the microbleed classifier's
# long-echo minimum are kept: no participant of those echo times).
# usage (beside sims.sh and train_p.sh): WORK=/tmp/s46 sh build_r.sh
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s46}
R45=/work/main/docs/experiments/2026-11-29-putamen-unet
TRIAL=/work/main/docs/experiments/2026-11-29-fresh-iron-recipe-trial
M=deepmir-multiclass-sim-w16
while [ ! -f TRAIN_P_DONE ]; do sleep 20; done
mkdir -p m054orig m054p
for f in json safetensors second.safetensors second2.safetensors int8.onnx; do  # load_model needs the int8 file the card names
  git -C /work/main show 172e4f3:Resources/models/$M.$f > m054orig/$M.$f
done
python $R45/make_p.py m054orig/$M.json unet-r45/$M.json m054p/$M.json > make_m054p.log 2>&1
BASE=$PWD/m054p WORK=$PWD NAME=rraw CLASSIFIER_SEED=2 PROPOSAL=0.005 TRAIN_SEEDS="1630 1840 1910 1920" CAL_SEEDS="1650 1850" sh $TRIAL/build.sh
nice deepmir calibrate --model rraw/$M.json --data cal-rraw --out r/$M --version 0.5.6-r > calibrate_r.log 2>&1
echo $? > BUILD_r_DONE
