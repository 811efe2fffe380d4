#!/bin/sh
# round 9 selection: 0.4.4 (a copy of the default's card, m044/) and R (make_r.py, r/) on select-320 (nominal) and select-1010 (protocol B)
. /work/main/.venv/bin/activate
cd /tmp/s17
POOLED=/work/main/docs/experiments/2026-11-26-paper-load-calibration/pooled.py
cohort() {  # seed, done-file of its simulation
  while [ ! -f $2 ]; do sleep 20; done
  for M in m044 r; do
    N=$1-$M
    deepmir predict --model $M/deepmir-multiclass-sim-w16.json --input select-$1 --out pred-$N > pred-$N.log 2>&1
    deepmir evaluate --prediction pred-$N --reference select-$1 --out eval-$N > eval-$N.log 2>&1
    echo "select-$1 $M:" >> select.txt
    python3 $POOLED eval-$N >> select.txt 2>&1
  done
}
cohort 320 SIM320_DONE
cohort 1010 SIM1010_DONE
echo done > SELECT_DONE
