#!/bin/sh
# round 9 held-out: 0.4.4 (m044/) and R (r/) on heldout-330 (nominal, 40) and heldout-1020 (protocol A, 40); after the selection runs
. /work/main/.venv/bin/activate
cd /tmp/s17
POOLED=/work/main/docs/experiments/2026-11-26-paper-load-calibration/pooled.py
INTERVALS=/work/main/docs/experiments/2026-11-26-larger-heldout/intervals.py
while [ ! -f SELECT_DONE ]; do sleep 20; done
cohort() {  # seed, done-file of its simulation
  while [ ! -f $2 ]; do sleep 20; done
  for M in m044 r; do
    N=$1-$M
    deepmir predict --model $M/deepmir-multiclass-sim-w16.json --input heldout-$1 --out pred-$N > pred-$N.log 2>&1
    deepmir evaluate --prediction pred-$N --reference heldout-$1 --out eval-$N > eval-$N.log 2>&1
    echo "heldout-$1 $M:" >> heldout.txt
    python3 $POOLED eval-$N >> heldout.txt 2>&1
    python3 $INTERVALS eval-$N >> heldout.txt 2>&1
  done
}
cohort 330 SIM330_DONE &
cohort 1020 SIM1020_DONE
wait
echo done > HELDOUT_DONE
