#!/bin/sh
# round 11 selection: MODELS (default "m050 i") on select-360 (nominal) and select-1050 (protocol B), each after its simulation
. /work/main/.venv/bin/activate
cd /tmp/s19
POOLED=/work/main/docs/experiments/2026-11-26-paper-load-calibration/pooled.py
for SEED in 360 1050; do
  while [ ! -f SIM${SEED}_DONE ]; do sleep 20; done
  for M in ${MODELS:-m050 i}; do
    N=$SEED-$M
    deepmir predict --model $M/deepmir-multiclass-sim-w16.json --input select-$SEED --out pred-$N > pred-$N.log 2>&1
    deepmir evaluate --prediction pred-$N --reference select-$SEED --out eval-$N > eval-$N.log 2>&1
    echo "select-$SEED $M:" >> select.txt
    python3 $POOLED eval-$N >> select.txt 2>&1
  done
done
