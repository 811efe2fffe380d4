#!/bin/sh
# round 44: 0.5.4 (its files at ead89ed) and the bundled 0.5.5 on the held-out cohorts of sims.sh, each as it is
# simulated; pooled counts appended to heldout.txt in WORK (default /tmp/s45). Then, in WORK:
#   for s in 2120 2130 2140 2150; do for m in m054 m055; do python /work/main/docs/experiments/2026-11-26-larger-heldout/intervals.py eval-$s-$m; done; done
# usage: WORK=/tmp/s45 sh run.sh
RUN=/work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh
WORK=${WORK:-/tmp/s45}
export WORK
mkdir -p $WORK/m054 $WORK/m055
for f in json safetensors second.safetensors second2.safetensors int8.onnx; do
  git -C /work/main show ead89ed:Resources/models/deepmir-multiclass-sim-w16.$f > $WORK/m054/deepmir-multiclass-sim-w16.$f
done
cp /work/main/Resources/models/deepmir-multiclass-sim-w16.* $WORK/m055/
MODELS="m054 m055" nice sh $RUN heldout 2120 2130 2140 2150
