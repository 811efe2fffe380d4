#!/bin/sh
# selection cohort (new seed 740): 0.4.0 against the recalibrated model, two stages
. /work/main/.venv/bin/activate
cd /tmp/s8
mkdir -p eval && cd eval
for M in default:040 ../cal730/model.json:041; do
  P=${M%%:*}; N=${M##*:}
  deepmir predict --model $P --input ../select-740 --out pred-740-$N > pred-740-$N.log 2>&1
  deepmir evaluate --prediction pred-740-$N --reference ../select-740 --out eval-740-$N > eval-740-$N.log 2>&1
done
python3 pooled.py eval-740-040 eval-740-041
echo done > SELECT_DONE
