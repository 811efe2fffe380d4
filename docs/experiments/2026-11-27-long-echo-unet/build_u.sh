#!/bin/sh
# round 10: candidate U (make_u.py, then deepmir calibrate on round 8's 310), then its selection predictions
. /work/main/.venv/bin/activate
cd /tmp/s18
while [ ! -f TRAIN_U_DONE ]; do sleep 20; done
python make_u.py m044/deepmir-multiclass-sim-w16.json unet-r10/deepmir-multiclass-sim-w16.json u-raw/deepmir-multiclass-sim-w16.json > make_u.log 2>&1
deepmir calibrate --model u-raw/deepmir-multiclass-sim-w16.json --data /tmp/s16/heldout-310 --out u/deepmir-multiclass-sim-w16 --version 0.5.0-u > calibrate_u.log 2>&1; echo $? > CALIBRATE_U_DONE
MODELS=u sh run_select.sh > run_select_u.out 2>&1; echo done > SELECT_U_DONE
