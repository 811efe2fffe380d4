#!/bin/bash
# round 31 diagnostic in /tmp/s34: E on 690 (nominal, told 25 ms) and 1490 (protocol B, told 7.5 ms), predicted and
# evaluated as run_cohorts.sh does; pooled counts appended to swap.txt
. /work/main/.venv/bin/activate
cd /tmp/s34
POOLED=/work/main/docs/experiments/2026-11-26-paper-load-calibration/pooled.py
for pair in "690 0.025" "1490 0.0075"; do
  set -- $pair
  SEED=$1; ECHO=$2
  for d in select-$SEED/sim-*; do
    p=swap-$SEED/$(basename $d); mkdir -p $p
    for f in $d/*; do [ "$(basename $f)" != swi.json ] && ln -sfn /tmp/s34/$f $p/; done
    echo "{\"EchoTime\": $ECHO}" > $p/swi.json
  done
  nice deepmir predict --model e/deepmir-multiclass-sim-w16.json --input swap-$SEED --out pred-swap-$SEED > pred-swap-$SEED.log 2>&1
  nice deepmir evaluate --prediction pred-swap-$SEED --reference select-$SEED --out eval-swap-$SEED > eval-swap-$SEED.log 2>&1
  echo "swap-$SEED e told EchoTime $ECHO s:" >> swap.txt
  python3 $POOLED eval-swap-$SEED >> swap.txt 2>&1
done
