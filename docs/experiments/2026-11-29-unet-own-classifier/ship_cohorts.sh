#!/bin/sh
# Shipping R as 0.5.6 (session 41): R's int8 U-Net (quantized on 310's first four participants) and R on the held-out
# cohorts simulated again (2200 nominal, 2210 protocol A: two stages and the U-Net alone), on a fresh protocol B cohort
# (2250, with 0.5.5 beside it) and in int8 on 2200; pooled counts appended to ship.txt in WORK.
# usage (beside sims_ship.sh, with R's files in WORK/r): WORK=/tmp/s47 sh ship_cohorts.sh
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s47}
POOLED=/work/main/docs/experiments/2026-11-26-paper-load-calibration/pooled.py
M=deepmir-multiclass-sim-w16
mkdir -p m055 && cp /work/main/Resources/models/$M.* m055/  # the bundled 0.5.5, before ship.py replaces it
run() {  # run NAME COHORT PREDICT-OPTIONS...: predict, evaluate, pooled counts
  name=$1; cohort=$2; shift 2
  nice deepmir predict --input $cohort --out pred-$name "$@" > pred-$name.log 2>&1
  nice deepmir evaluate --prediction pred-$name --reference $cohort --out eval-$name > eval-$name.log 2>&1
  echo "$cohort $name:" >> ship.txt
  python3 $POOLED eval-$name >> ship.txt 2>&1
}
while [ ! -f SIM310_DONE ]; do sleep 20; done
nice deepmir quantize --model r/$M.json --data calib-310 --participants 4 --out q/$M --threads 2 > quantize.log 2>&1
while [ ! -f SIM2200_DONE ]; do sleep 20; done
run 2200-r heldout-2200 --model r/$M.json
run 2200-r1 heldout-2200 --model r/$M.json --stages 1
run 2200-q heldout-2200 --model q/$M.json --runtime onnxruntime-int8
while [ ! -f SIM2210_DONE ]; do sleep 20; done
run 2210-r heldout-2210 --model r/$M.json
run 2210-r1 heldout-2210 --model r/$M.json --stages 1
while [ ! -f SIM2250_DONE ]; do sleep 20; done
run 2250-r heldout-2250 --model r/$M.json
run 2250-m055 heldout-2250 --model m055/$M.json
echo done > SHIP_COHORTS_DONE
