#!/bin/sh
# round 10 selection: MODELS (default "m044 u") on select-340 (nominal) and select-1030 (protocol B), each after its simulation
. /work/main/.venv/bin/activate
cd /tmp/s18
POOLED=/work/main/docs/experiments/2026-11-26-paper-load-calibration/pooled.py
for SEED in 340 1030; do
  while [ ! -f SIM${SEED}_DONE ]; do sleep 20; done
  for M in ${MODELS:-m044 u}; do
    N=$SEED-$M
    deepmir predict --model $M/deepmir-multiclass-sim-w16.json --input select-$SEED --out pred-$N > pred-$N.log 2>&1
    deepmir evaluate --prediction pred-$N --reference select-$SEED --out eval-$N > eval-$N.log 2>&1
    echo "select-$SEED $M:" >> select.txt
    python3 $POOLED eval-$N >> select.txt 2>&1
  done
done
