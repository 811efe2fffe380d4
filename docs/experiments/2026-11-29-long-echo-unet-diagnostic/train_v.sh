#!/bin/sh
# Round 48: U-Net V, round 45's fine-tune of 0.5.5's U-Net (train_p.sh's options) on train-r45 plus 20 protocol B participants
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s47}
for seed in 2160 2170 2280; do while [ ! -f SIM${seed}_DONE ]; do sleep 20; done; done
mkdir -p train-r48 && ln -sf $PWD/train-2160/sim-2160-* $PWD/train-2170/sim-2170-* $PWD/train-2280/sim-2280-* train-r48/
nice deepmir train --data train-r48 --out unet-v/deepmir-multiclass-sim-w16 --name deepmir-multiclass-sim --version 0.5.7-unet-v \
  --fine-tune m055/deepmir-multiclass-sim-w16.json --width 16 --epochs 4 --learning-rate 3e-4 --cosine --crop 64 --copies 3 \
  --mimic-fraction 0.5 --seed 1 --threads 2 --cache cache-r48 > train_v.log 2>&1; echo $? > TRAIN_V_DONE
