#!/bin/sh
# Round 45's control C (README): P's recipe on train-2220 alone (20 paper load, nominal), predicted on 2180 and 2190
. /work/main/.venv/bin/activate
R=/work/main/docs/experiments/2026-11-29-putamen-unet
cd ${WORK:-/tmp/s45}
nice deepmir train --data train-2220 --out unet-c/deepmir-multiclass-sim-w16 --name deepmir-multiclass-sim --version 0.5.6-unet-c \
  --fine-tune m055/deepmir-multiclass-sim-w16.json --width 16 --epochs 4 --learning-rate 3e-4 --cosine --crop 64 --copies 3 \
  --mimic-fraction 0.5 --seed 1 --threads 2 --cache cache > train_c.log 2>&1
mkdir -p c && python $R/make_p.py m055/deepmir-multiclass-sim-w16.json unet-c/deepmir-multiclass-sim-w16.json c/deepmir-multiclass-sim-w16.json > make_c.log 2>&1
for SEED in 2180 2190; do
  deepmir predict --model c/deepmir-multiclass-sim-w16.json --input select-$SEED --out pred-$SEED-c > pred-$SEED-c.log 2>&1
  deepmir evaluate --prediction pred-$SEED-c --reference select-$SEED --out eval-$SEED-c > eval-$SEED-c.log 2>&1
  echo "select-$SEED c:" >> diagnostic_c.txt
  python /work/main/docs/experiments/2026-11-26-paper-load-calibration/pooled.py eval-$SEED-c >> diagnostic_c.txt
done
python /work/main/docs/experiments/2026-11-27-protocol-a-iron/iron_errors.py 2180-c:select-2180:pred-2180-c 2190-c:select-2190:pred-2190-c > iron_errors-c.txt 2>&1
touch C_DONE
