#!/bin/sh
# round 11: candidate I, 0.5.0 with its iron classifier fine-tuned on the 0.5.0 U-Net's candidates in train-r10, recalibrated on 310
. /work/main/.venv/bin/activate
cd /tmp/s19
R=/work/main/docs/experiments/2026-11-27-long-echo-iron
M=deepmir-multiclass-sim-w16
mkdir -p m050 && cp /work/main/Resources/models/$M.* m050/
python $R/one_classifier.py m050/$M.json iron iron-only/$M.json > one_classifier.log 2>&1
python $R/one_classifier.py m050/$M.json cmb cmb-only/$M.json >> one_classifier.log 2>&1
python -m DeepMIRLib.secondstage --model iron-only/$M.json --train /tmp/s18/train-r10 --calibrate /tmp/s16/heldout-310 \
  --out ifine/$M.json --proposal 0.02 --fine-tune --epochs 10 --learning-rate 3e-4 --version 0.5.1-iron --threads 2 > ifine.log 2>&1
python -m DeepMIRLib.secondstage --per-class cmb=cmb-only/$M.json iron=ifine/$M.json --base m050/$M.json \
  --out i-raw/$M.json --version 0.5.1-i > per_class.log 2>&1
deepmir calibrate --model i-raw/$M.json --data /tmp/s16/heldout-310 --out i/$M --version 0.5.1-i > calibrate_i.log 2>&1
echo $? > BUILD_I_DONE
