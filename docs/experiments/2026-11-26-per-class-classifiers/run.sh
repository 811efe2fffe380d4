#!/bin/sh
# round 5: 0.4.2 and A on the selection cohort 780, C composed from them (the rule: bootstrap.py of round 4), then held-out 270 and 970
. /work/main/.venv/bin/activate
cd /tmp/s12
R=/work/main/docs/experiments/2026-11-26-per-class-classifiers
BOOT=/work/main/docs/experiments/2026-11-26-extremum-confirm/bootstrap.py
POOLED=/work/main/docs/experiments/2026-11-26-paper-load-calibration/pooled.py
A=/tmp/s11/a/deepmir-multiclass-sim-w16.json
cohort() {  # cohort name, reference folder
  for X in 042=default a=$A; do
    N=${X%%=*}; P=${X#*=}
    deepmir predict --model $P --input $2 --out pred-$1-$N > pred-$1-$N.log 2>&1
  done
  python3 $R/compose.py pred-$1-a pred-$1-042 pred-$1-c > compose-$1.log 2>&1
  for N in 042 a c; do
    deepmir evaluate --prediction pred-$1-$N --reference $2 --out eval-$1-$N > eval-$1-$N.log 2>&1
  done
}
while [ ! -f SIM780_DONE ]; do sleep 10; done
cohort 780 select-780
python3 $POOLED eval-780-042 eval-780-c eval-780-a > select780.txt 2>&1
python3 $BOOT eval-780-042 eval-780-c >> select780.txt 2>&1
echo done > SELECT780_DONE
while [ ! -f SIMHELD_DONE ]; do sleep 10; done
for S in 270 970; do
  cohort $S heldout-$S
  python3 $POOLED eval-$S-042 eval-$S-c eval-$S-a >> heldout.txt 2>&1
done
echo done > HELDOUT_DONE
