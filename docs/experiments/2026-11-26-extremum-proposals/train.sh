#!/bin/sh
. /work/main/.venv/bin/activate
cd /tmp/s10
date > train.start
python -m DeepMIRLib.secondstage --model default --train train-45 --calibrate /tmp/s8/calib-730 --out m043/deepmir-multiclass-sim-w16.json --proposal 0.02 --extrema -3.5 2 --fine-tune --epochs 10 --learning-rate 3e-4 --version 0.4.3 --threads 2 > train.log 2>&1
echo $? > TRAIN_DONE
date >> train.start
