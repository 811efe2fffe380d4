#!/bin/sh
# round 31: candidate E, 0.5.3 with its microbleed classifier fine-tuned with the SWI's echo time as one more feature
# (--echo-time) on the 0.5.3 U-Net's candidates and extremum candidates in train-r10 (30 nominal + 30 protocol B), its
# minimum chosen on cal-mix (10 nominal + 10 protocol B); 0.5.3's iron classifier and U-Net-alone minimums unchanged.
# Round 29's build_h.sh without --contrast, with --echo-time.
. /work/main/.venv/bin/activate
cd /tmp/s34
R=/work/main/docs/experiments/2026-11-27-long-echo-iron
M=deepmir-multiclass-sim-w16
mkdir -p m053 train-r10 cal-mix && cp /work/main/Resources/models/$M.* m053/
for d in train-320/sim-* train-1010/sim-*; do ln -sfn /tmp/s34/$d train-r10/; done
for d in cal-680/sim-* cal-1480/sim-*; do ln -sfn /tmp/s34/$d cal-mix/; done
python $R/one_classifier.py m053/$M.json cmb cmb-only/$M.json > one_classifier.log 2>&1
python $R/one_classifier.py m053/$M.json iron iron-only/$M.json >> one_classifier.log 2>&1
nice python -m DeepMIRLib.secondstage --model cmb-only/$M.json --train train-r10 --calibrate cal-mix --out efine/$M.json \
  --proposal 0.02 --extrema -3.5 2 --fine-tune --epochs 10 --learning-rate 3e-4 --echo-time --version 0.5.4-cmb \
  --threads 2 > efine.log 2>&1
python -m DeepMIRLib.secondstage --per-class cmb=efine/$M.json iron=iron-only/$M.json --base m053/$M.json \
  --out e/$M.json --version 0.5.4-e > per_class.log 2>&1
echo $? > BUILD_E_DONE
