#!/bin/sh
# round 12: candidate C, 0.5.1 (I) with its microbleed classifier fine-tuned on the 0.5.0 U-Net's candidates and
# extremum candidates in train-r10 (30 nominal + 30 protocol B), recalibrated on 310
. /work/main/.venv/bin/activate
cd /tmp/s20
R=/work/main/docs/experiments/2026-11-27-long-echo-iron
M=deepmir-multiclass-sim-w16
mkdir -p m051 && cp /tmp/s19/i/$M.* m051/
python $R/one_classifier.py m051/$M.json cmb cmb-only/$M.json > one_classifier.log 2>&1
python $R/one_classifier.py m051/$M.json iron iron-only/$M.json >> one_classifier.log 2>&1
python -m DeepMIRLib.secondstage --model cmb-only/$M.json --train /tmp/s18/train-r10 --calibrate /tmp/s16/heldout-310 \
  --out cfine/$M.json --proposal 0.02 --extrema -3.5 2 --fine-tune --epochs 10 --learning-rate 3e-4 --version 0.5.2-cmb --threads 2 > cfine.log 2>&1
python -m DeepMIRLib.secondstage --per-class cmb=cfine/$M.json iron=iron-only/$M.json --base m051/$M.json \
  --out c-raw/$M.json --version 0.5.2-c > per_class.log 2>&1
deepmir calibrate --model c-raw/$M.json --data /tmp/s16/heldout-310 --out c/$M --version 0.5.2-c > calibrate_c.log 2>&1
echo $? > BUILD_C_DONE
