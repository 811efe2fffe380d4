#!/bin/sh
# Round 45: 0.5.5's U-Net trained further on train-r45 (sims_train.sh's two cohorts linked into one folder), round 10's options
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s45}
while [ ! -f DONE-hard ] || [ ! -f DONE-vary ]; do sleep 20; done
mkdir -p train-r45 && ln -sf $PWD/train-2160/sim-2160-* $PWD/train-2170/sim-2170-* train-r45/
mkdir -p m055 && cp /work/main/Resources/models/deepmir-multiclass-sim-w16.* m055/
nice deepmir train --data train-r45 --out unet-r45/deepmir-multiclass-sim-w16 --name deepmir-multiclass-sim --version 0.5.6-unet \
  --fine-tune m055/deepmir-multiclass-sim-w16.json --width 16 --epochs 4 --learning-rate 3e-4 --cosine --crop 64 --copies 3 \
  --mimic-fraction 0.5 --seed 1 --threads 2 --cache cache > train_p.log 2>&1; echo $? > TRAIN_P_DONE
mkdir -p p && python /work/main/docs/experiments/2026-11-29-putamen-unet/make_p.py m055/deepmir-multiclass-sim-w16.json \
  unet-r45/deepmir-multiclass-sim-w16.json p/deepmir-multiclass-sim-w16.json > make_p.log 2>&1
