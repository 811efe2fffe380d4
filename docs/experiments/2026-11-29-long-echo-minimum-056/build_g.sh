#!/bin/sh
# Round 47: candidate G, 0.5.6 whose microbleed classifier's minimum for SWI echo times from 15 ms is chosen again on
# cal-b (protocol B: 1480, 10, and 1490, 20) by round 32's command; nothing trained, every other minimum and file 0.5.6's
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s47}
M=deepmir-multiclass-sim-w16
for f in SIM1480_DONE SIM1490_DONE; do while [ ! -f $f ]; do sleep 20; done; done
while ! grep -q '"version": "0.5.6"' /work/main/Resources/models/$M.json; do sleep 20; done  # shipped by round 46's ship.py
mkdir -p m056 cal-b && cp /work/main/Resources/models/$M.* m056/
for d in cal-1480/sim-* cal-1490/sim-*; do ln -sfn $PWD/$d cal-b/; done
nice python -m DeepMIRLib.secondstage --model m056/$M.json --long-echo 15 --long-echo-classes cmb --calibrate cal-b \
  --out g/$M.json --version 0.5.7-g > build_g.log 2>&1
echo $? > BUILD_G_DONE
