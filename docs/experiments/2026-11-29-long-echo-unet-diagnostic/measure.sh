#!/bin/sh
# Round 48: the microbleed classifier's long-echo calibration table on cal-b for 0.5.5 (m055) and for V with 0.5.6's
# classifiers (m056, round 47's copy); nothing of it is kept as a model
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s47}
M=deepmir-multiclass-sim-w16
nice python -m DeepMIRLib.secondstage --model m055/$M.json --long-echo 15 --long-echo-classes cmb --calibrate cal-b \
  --out le-m055/$M.json --version 0.5.5-le > le_m055.log 2>&1
while [ ! -f TRAIN_V_DONE ]; do sleep 20; done
python -m DeepMIRLib.secondstage --model m056/$M.json --unet unet-v/$M.json --out v/$M.json --version 0.5.7-v > make_v.log 2>&1
nice python -m DeepMIRLib.secondstage --model v/$M.json --long-echo 15 --long-echo-classes cmb --calibrate cal-b \
  --out le-v/$M.json --version 0.5.7-v-le > le_v.log 2>&1
echo done > MEASURE_DONE
