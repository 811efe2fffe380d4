#!/bin/sh
# round 36: candidate R = round 35's Q (rebuilt by ../2026-11-28-iron-rich-slabs/build_q.sh on the cohorts sims.sh
# simulates again with the same seeds) with an iron minimum of its own for SWI echo times from 15 ms, chosen by the
# library's long-echo calibration on cal-b: cal-1660 and cal-1680 (protocol B, 25 ms, 20 each, never trained on).
# Shorter echoes are decided as Q (iron minimum 0.85, chosen in round 35); microbleeds as 0.5.4.
# usage (beside sims.sh): WORK=/tmp/s38 sh build_r.sh
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s38}
sh /work/main/docs/experiments/2026-11-28-iron-rich-slabs/build_q.sh
while [ ! -f SIM1680_DONE ]; do sleep 20; done
M=deepmir-multiclass-sim-w16
mkdir -p cal-b
ln -sfn "$PWD"/cal-1660/sim-1660-* "$PWD"/cal-1680/sim-1680-* cal-b/
python -m DeepMIRLib.secondstage --model q/$M.json --long-echo 15 --long-echo-classes iron --calibrate cal-b \
  --out r/$M.json --version 0.5.5-r > build_r.log 2>&1
echo $? > BUILD_r_DONE
