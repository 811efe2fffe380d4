#!/bin/sh
# round 6: 0.4.3 and D on the selection cohort 790 (the rule: bootstrap.py of round 4), then held-out 280 and 980
. /work/main/.venv/bin/activate
cd /tmp/s13
BOOT=/work/main/docs/experiments/2026-11-26-extremum-confirm/bootstrap.py
POOLED=/work/main/docs/experiments/2026-11-26-paper-load-calibration/pooled.py
D=/tmp/s13/d/deepmir-multiclass-sim-w16.json
M043=/tmp/s13/m043/deepmir-multiclass-sim-w16.json  # a copy of the bundled 0.4.3, so that shipping D does not change it
cohort() {  # cohort name, reference folder
  for X in 043=$M043 d=$D; do
    N=${X%%=*}; P=${X#*=}
    while [ ! -f $P ]; do sleep 10; done  # D's card appears when its calibration is written
    deepmir predict --model $P --input $2 --out pred-$1-$N > pred-$1-$N.log 2>&1
    deepmir evaluate --prediction pred-$1-$N --reference $2 --out eval-$1-$N > eval-$1-$N.log 2>&1
  done
}
while [ ! -f SIM790_DONE ]; do sleep 10; done
cohort 790 select-790
python3 $POOLED eval-790-043 eval-790-d > select790.txt 2>&1
python3 $BOOT eval-790-043 eval-790-d >> select790.txt 2>&1
echo done > SELECT790_DONE
while [ ! -f SIMHELD_DONE ]; do sleep 10; done
for S in 280 980; do
  cohort $S heldout-$S
  python3 $POOLED eval-$S-043 eval-$S-d >> heldout.txt 2>&1
done
echo done > HELDOUT_DONE
