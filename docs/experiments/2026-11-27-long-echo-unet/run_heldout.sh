#!/bin/sh
# round 10 held-out: MODELS (default "m044 u") on heldout-350 (nominal) and heldout-1040 (protocol A), each after its simulation
. /work/main/.venv/bin/activate
cd /tmp/s18
POOLED=/work/main/docs/experiments/2026-11-26-paper-load-calibration/pooled.py
for SEED in 350 1040; do
  while [ ! -f SIM${SEED}_DONE ]; do sleep 20; done
  for M in ${MODELS:-m044 u}; do
    N=$SEED-$M
    deepmir predict --model $M/deepmir-multiclass-sim-w16.json --input heldout-$SEED --out pred-$N > pred-$N.log 2>&1
    deepmir evaluate --prediction pred-$N --reference heldout-$SEED --out eval-$N > eval-$N.log 2>&1
    echo "heldout-$SEED $M:" >> heldout.txt
    python3 $POOLED eval-$N >> heldout.txt 2>&1
  done
done
echo done > HELDOUT_DONE
