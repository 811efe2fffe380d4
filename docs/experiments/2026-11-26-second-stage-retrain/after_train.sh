#!/bin/sh
# after the retrain: selection (seed 740) then held-out 220/920 for the retrained model
. /work/main/.venv/bin/activate
cd /tmp/s9
while [ ! -f TRAIN_DONE ]; do sleep 15; done
deepmir predict --model retrain/model.json --input /tmp/s8/select-740 --out pred-740-042 > pred-740-042.log 2>&1
deepmir evaluate --prediction pred-740-042 --reference /tmp/s8/select-740 --out eval-740-042 > eval-740-042.log 2>&1
python3 /work/main/docs/experiments/2026-11-26-paper-load-calibration/pooled.py /tmp/s8/eval/eval-740-041 eval-740-042 > select042.txt
echo done > SELECT042_DONE
while pgrep -f "heldout.sh 041" > /dev/null; do sleep 15; done
sh heldout.sh "042=/tmp/s9/retrain/model.json"
echo done > HELDOUT042_DONE
