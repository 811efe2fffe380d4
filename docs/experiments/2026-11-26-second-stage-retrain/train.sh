#!/bin/sh
. /work/main/.venv/bin/activate
cd /tmp/s9
while [ ! -f SIM530_DONE ]; do sleep 10; done
for f in train-530/sim-*; do ln -sfn "$(readlink -f $f)" train-all/$(basename $f); done
ls train-all | wc -l > train-all.count
date > train.start
python -m DeepMIRLib.secondstage --model default --train train-all --calibrate /tmp/s8/calib-730 --out retrain/model.json --proposal 0.02 --version 0.4.2 --threads 2 > train.log 2>&1
echo $? > TRAIN_DONE
date >> train.start
