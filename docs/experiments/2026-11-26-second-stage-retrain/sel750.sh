#!/bin/sh
. /work/main/.venv/bin/activate
cd /tmp/s9
deepmir simulate --n 24 --seed 750 --out select-750 > sim750.log 2>&1
for M in 041=default 042=/tmp/s9/retrain/model.json; do
  N=${M%%=*}; P=${M#*=}
  deepmir predict --model $P --input select-750 --out pred-750-$N > pred-750-$N.log 2>&1
  deepmir evaluate --prediction pred-750-$N --reference select-750 --out eval-750-$N > eval-750-$N.log 2>&1
done
python3 /work/main/docs/experiments/2026-11-26-paper-load-calibration/pooled.py eval-750-041 eval-750-042 > select750.txt
echo done > SELECT750_DONE
