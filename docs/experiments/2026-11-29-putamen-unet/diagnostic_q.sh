#!/bin/sh
# Round 45's diagnostic Q (README): P's recipe on train-q (2160 hard + 2220 paper load, nominal), predicted on 2180 and 2190
. /work/main/.venv/bin/activate
R=/work/main/docs/experiments/2026-11-29-putamen-unet
cd ${WORK:-/tmp/s45}
nice deepmir simulate --n 20 --seed 2220 --out train-2220 > sim-2220.log 2>&1
mkdir -p train-q && ln -sf $PWD/train-2160/sim-2160-* $PWD/train-2220/sim-2220-* train-q/
nice deepmir train --data train-q --out unet-q/deepmir-multiclass-sim-w16 --name deepmir-multiclass-sim --version 0.5.6-unet-q \
  --fine-tune m055/deepmir-multiclass-sim-w16.json --width 16 --epochs 4 --learning-rate 3e-4 --cosine --crop 64 --copies 3 \
  --mimic-fraction 0.5 --seed 1 --threads 2 --cache cache > train_q.log 2>&1
mkdir -p q && python $R/make_p.py m055/deepmir-multiclass-sim-w16.json unet-q/deepmir-multiclass-sim-w16.json q/deepmir-multiclass-sim-w16.json > make_q.log 2>&1
for SEED in 2180 2190; do
  deepmir predict --model q/deepmir-multiclass-sim-w16.json --input select-$SEED --out pred-$SEED-q > pred-$SEED-q.log 2>&1
  deepmir evaluate --prediction pred-$SEED-q --reference select-$SEED --out eval-$SEED-q > eval-$SEED-q.log 2>&1
  echo "select-$SEED q:" >> diagnostic_q.txt
  python /work/main/docs/experiments/2026-11-26-paper-load-calibration/pooled.py eval-$SEED-q >> diagnostic_q.txt
done
python /work/main/docs/experiments/2026-11-27-protocol-a-iron/iron_errors.py 2180-q:select-2180:pred-2180-q 2190-q:select-2190:pred-2190-q > iron_errors-q.txt 2>&1
touch Q_DONE
