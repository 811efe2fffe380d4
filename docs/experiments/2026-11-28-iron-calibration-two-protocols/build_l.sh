#!/bin/sh
# round 26: candidate L, round 25's K with one change: its iron classifier's minimum probability is chosen on cal-nb (590
# nominal and 1340 protocol B, 20 each: the two protocols it is trained on, seeds never used before) instead of cal-310
# (nominal only). Everything else is K's (../2026-11-28-iron-touching-truth/build_k.sh): 0.5.3's iron classifier fine-tuned
# for 10 epochs at 3e-4 on train-r10 with the extremum proposals and the touching truth; 0.5.3's U-Net, microbleed
# classifier (listed first) and that one's minimums kept.
# usage (after sims.sh has made train-320, train-1010, cal-590 and cal-1340): WORK=/tmp/s30 sh build_l.sh
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s30}
for seed in 320 1010 590 1340; do while [ ! -f SIM${seed}_DONE ]; do sleep 20; done; done
R=/work/main/docs/experiments/2026-11-27-long-echo-iron
M=deepmir-multiclass-sim-w16
mkdir -p m053 train-r10 cal-nb
cp /work/main/Resources/models/$M.* m053/
ln -sfn "$PWD"/train-320/sim-320-* "$PWD"/train-1010/sim-1010-* train-r10/
ln -sfn "$PWD"/cal-590/sim-590-* "$PWD"/cal-1340/sim-1340-* cal-nb/
python $R/one_classifier.py m053/$M.json cmb cmb-only/$M.json > one_classifier.log 2>&1
python $R/one_classifier.py m053/$M.json iron iron-only/$M.json >> one_classifier.log 2>&1
python -m DeepMIRLib.secondstage --model iron-only/$M.json --train train-r10 --calibrate cal-nb --out lfine/$M.json \
  --proposal 0.02 --extrema -3.5 2 --truth touching --fine-tune --epochs 10 --learning-rate 3e-4 --version 0.5.4-l-iron \
  --threads 1 > lfine.log 2>&1
python -m DeepMIRLib.secondstage --per-class cmb=cmb-only/$M.json iron=lfine/$M.json --base m053/$M.json \
  --out l/$M.json --version 0.5.4-l > per_class_l.log 2>&1
echo $? > BUILD_l_DONE
