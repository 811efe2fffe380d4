#!/bin/sh
. /work/main/.venv/bin/activate
cd /tmp/s18
deepmir train --data train-r10 --out unet-r10/deepmir-multiclass-sim-w16 --name deepmir-multiclass-sim --version 0.5.0-unet \
  --fine-tune m044/deepmir-multiclass-sim-w16.json --width 16 --epochs 10 --learning-rate 3e-4 --cosine --crop 64 --copies 3 \
  --mimic-fraction 0.5 --seed 1 --threads 2 --cache cache > train_u.log 2>&1; echo $? > TRAIN_U_DONE
