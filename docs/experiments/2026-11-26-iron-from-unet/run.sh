#!/bin/sh
# round 7: the baseline (BASE: round 6's choice) and E on the selection cohort 800, then held-out 290 and 990
. /work/main/.venv/bin/activate
cd /tmp/s14
BOOT=/work/main/docs/experiments/2026-11-26-extremum-confirm/bootstrap.py
POOLED=/work/main/docs/experiments/2026-11-26-paper-load-calibration/pooled.py
BASE=$1  # the baseline's card (a copy, so that shipping E does not change it)
E=/tmp/s14/e/deepmir-multiclass-sim-w16.json
cohort() {  # cohort name, reference folder
  for X in base=$BASE e=$E; do
    N=${X%%=*}; P=${X#*=}
    deepmir predict --model $P --input $2 --out pred-$1-$N > pred-$1-$N.log 2>&1
    deepmir evaluate --prediction pred-$1-$N --reference $2 --out eval-$1-$N > eval-$1-$N.log 2>&1
  done
}
while [ ! -f SIM800_DONE ]; do sleep 10; done
cohort 800 select-800
python3 $POOLED eval-800-base eval-800-e > select800.txt 2>&1
python3 $BOOT eval-800-base eval-800-e >> select800.txt 2>&1
echo done > SELECT800_DONE
while [ ! -f SIMHELD_DONE ]; do sleep 10; done
for S in 290 990; do
  cohort $S heldout-$S
  python3 $POOLED eval-$S-base eval-$S-e >> heldout.txt 2>&1
done
echo done > HELDOUT_DONE
