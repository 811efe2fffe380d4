#!/bin/sh
# round 32: candidate F, 0.5.3 whose microbleed classifier gets a minimum probability of its own for SWI echo times
# from 15 ms, chosen by the library's calibration rule on cal-b (protocol B: 1480, 10, and 1490, 20); nothing trained,
# every other minimum and every file but the card 0.5.3's
. /work/main/.venv/bin/activate
cd /tmp/s35
M=deepmir-multiclass-sim-w16
mkdir -p m053 cal-b && cp /work/main/Resources/models/$M.* m053/
for d in cal-1480/sim-* cal-1490/sim-*; do ln -sfn /tmp/s35/$d cal-b/; done
nice python -m DeepMIRLib.secondstage --model m053/$M.json --long-echo 15 --long-echo-classes cmb --calibrate cal-b \
  --out f/$M.json --version 0.5.4 > build_f.log 2>&1
echo $? > BUILD_F_DONE
