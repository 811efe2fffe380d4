#!/bin/sh
# round 4: 0.4.2 and A on the selection cohort 770 (the rule: bootstrap.py), then held-out 260 and 960
. /work/main/.venv/bin/activate
cd /tmp/s11
R=/work/main/docs/experiments/2026-11-26-extremum-confirm
POOLED=/work/main/docs/experiments/2026-11-26-paper-load-calibration/pooled.py
while [ ! -f SIM770_DONE ]; do sleep 10; done
for X in 042=default a=a/deepmir-multiclass-sim-w16.json; do
  N=${X%%=*}; P=${X#*=}
  deepmir predict --model $P --input select-770 --out pred-770-$N > pred-770-$N.log 2>&1
  deepmir evaluate --prediction pred-770-$N --reference select-770 --out eval-770-$N > eval-770-$N.log 2>&1
done
python3 $POOLED eval-770-042 eval-770-a > select770.txt 2>&1
python3 $R/bootstrap.py eval-770-042 eval-770-a >> select770.txt 2>&1
echo done > SELECT770_DONE
while [ ! -f SIMHELD_DONE ]; do sleep 10; done
for S in 260 960; do
  for X in 042=default a=a/deepmir-multiclass-sim-w16.json; do
    N=${X%%=*}; P=${X#*=}
    deepmir predict --model $P --input heldout-$S --out pred-$S-$N > pred-$S-$N.log 2>&1
    deepmir evaluate --prediction pred-$S-$N --reference heldout-$S --out eval-$S-$N > eval-$S-$N.log 2>&1
    python3 $POOLED eval-$S-$N >> heldout4.txt 2>&1
  done
done
echo done > HELDOUT4_DONE
