#!/bin/sh
# round 37: candidate S = round 35's Q (0.5.4 with its iron classifier fine-tuned on 80 iron-rich slabs; rebuilt by
# ../2026-11-28-iron-rich-slabs/build_q.sh on the cohorts sims.sh simulates again with the same seeds) whose iron
# classifier runs only for SWI echo times below 15 ms (or not known), and 0.5.4's iron classifier, with its own minimum
# (0.9), from 15 ms (secondstage.per_echo_time_model). Microbleeds as 0.5.4 (and Q) at every echo time. Nothing is
# trained or calibrated beyond Q.
# usage (beside sims.sh): WORK=/tmp/s39 sh build_s.sh
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s39}
sh /work/main/docs/experiments/2026-11-28-iron-rich-slabs/build_q.sh
M=deepmir-multiclass-sim-w16
python -m DeepMIRLib.secondstage --model q/$M.json --long-echo 15 --long-echo-classifier iron=m054/$M.json \
  --out s/$M.json --version 0.5.5-s > build_s.log 2>&1
echo $? > BUILD_s_DONE
