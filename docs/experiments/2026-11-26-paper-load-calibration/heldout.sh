#!/bin/sh
# held-out cohorts (new seeds 200 and 910): the recalibrated model with two stages and alone, 0.4.0 with two stages
. /work/main/.venv/bin/activate
cd /tmp/s8/eval
run() {  # cohort, model path, model name, stages
  deepmir predict --model $2 --stages $4 --input ../heldout-$1 --out pred-$1-$3-s$4 > pred-$1-$3-s$4.log 2>&1
  deepmir evaluate --prediction pred-$1-$3-s$4 --reference ../heldout-$1 --out eval-$1-$3-s$4 > eval-$1-$3-s$4.log 2>&1
  python3 pooled.py eval-$1-$3-s$4
}
M=../cal730/model.json
run 200 $M 041 2; run 200 $M 041 1; run 910 default 040 2; run 910 $M 041 2; run 910 $M 041 1
echo done > HELDOUT_DONE
run 200 default 040 1; run 910 default 040 1
