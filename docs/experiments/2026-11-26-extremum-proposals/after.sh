#!/bin/sh
# after training: selection on 750 (0.4.3 against 0.4.2's run there), then held-out 240 and 940 for both
. /work/main/.venv/bin/activate
cd /tmp/s10
while [ ! -f TRAIN_DONE ]; do sleep 10; done
M=m043/deepmir-multiclass-sim-w16.json
deepmir predict --model $M --input /tmp/s9/select-750 --out pred-750-043 > pred-750-043.log 2>&1
deepmir evaluate --prediction pred-750-043 --reference /tmp/s9/select-750 --out eval-750-043 > eval-750-043.log 2>&1
python3 /work/main/docs/experiments/2026-11-26-paper-load-calibration/pooled.py /tmp/s9/eval-750-042 eval-750-043 > select750.txt
echo done > SELECT_DONE
while [ ! -f SIM_DONE ]; do sleep 10; done
for S in 240 940; do
  for X in 042=default 043=$M; do
    N=${X%%=*}; P=${X#*=}
    deepmir predict --model $P --input heldout-$S --out pred-$S-$N > pred-$S-$N.log 2>&1
    deepmir evaluate --prediction pred-$S-$N --reference heldout-$S --out eval-$S-$N > eval-$S-$N.log 2>&1
    python3 /work/main/docs/experiments/2026-11-26-paper-load-calibration/pooled.py eval-$S-$N >> heldout.txt
  done
done
echo done > HELDOUT_DONE
