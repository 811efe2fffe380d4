#!/bin/sh
# round 11 held-out: MODELS (default "m050 i") on heldout-370 (nominal) and heldout-1060 (protocol A), each after its simulation
. /work/main/.venv/bin/activate
cd /tmp/s19
POOLED=/work/main/docs/experiments/2026-11-26-paper-load-calibration/pooled.py
for SEED in 370 1060; do
  while [ ! -f SIM${SEED}_DONE ]; do sleep 20; done
  for M in ${MODELS:-m050 i}; do
    N=$SEED-$M
    deepmir predict --model $M/deepmir-multiclass-sim-w16.json --input heldout-$SEED --out pred-$N > pred-$N.log 2>&1
    deepmir evaluate --prediction pred-$N --reference heldout-$SEED --out eval-$N > eval-$N.log 2>&1
    echo "heldout-$SEED $M:" >> heldout.txt
    python3 $POOLED eval-$N >> heldout.txt 2>&1
  done
done
echo done > HELDOUT_DONE
