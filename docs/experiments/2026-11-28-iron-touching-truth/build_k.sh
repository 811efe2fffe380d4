#!/bin/sh
# round 25: candidate K, round 24's J with one change: the iron classifier's training candidates are lesions only when they also
# touch a reference lesion (--truth touching). Everything else is J's (../2026-11-28-iron-classifier-extrema/build_j.sh):
# 0.5.3's iron classifier fine-tuned for 10 epochs at 3e-4 on train-r10 with the extremum proposals, its minimums chosen on
# cal-310; 0.5.3's U-Net and microbleed classifier (listed first) kept.
# usage (in round 24's folder, after its build_j.sh): WORK=/tmp/s29 sh build_k.sh
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s29}
M=deepmir-multiclass-sim-w16
python -m DeepMIRLib.secondstage --model iron-only/$M.json --train train-r10 --calibrate cal-310 --out kfine/$M.json \
  --proposal 0.02 --extrema -3.5 2 --truth touching --fine-tune --epochs 10 --learning-rate 3e-4 --version 0.5.4-k-iron \
  --threads 1 > kfine.log 2>&1
python -m DeepMIRLib.secondstage --per-class cmb=cmb-only/$M.json iron=kfine/$M.json --base m053/$M.json \
  --out k/$M.json --version 0.5.4-k > per_class_k.log 2>&1
echo $? > BUILD_k_DONE
