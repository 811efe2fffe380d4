#!/bin/sh
# As run on the development machine (paths under /tmp there): calibrate on seed 710, then predict and evaluate on the held-out seeds 200 and 910.
# usage: assess.sh MODEL_STEM NAME   (calibrate on seed 710, then held-out 200 and 910)
set -e
. /work/main/.venv/bin/activate
M=$1; N=$2; O=/tmp/nm/$N
mkdir -p $O
deepmir calibrate --model $M.json --data /tmp/ss15/calib --out $O/cal > $O/calibrate.log 2>&1
for S in 200 910; do
  if [ $S = 200 ]; then REF=/tmp/heldout; else REF=/tmp/proto/heldout-910; fi
  deepmir predict --model $O/cal.json --input $REF --out $O/pred-$S > $O/pred-$S.log 2>&1
  deepmir evaluate --prediction $O/pred-$S --reference $REF --out $O/eval-$S > $O/eval-$S.log 2>&1
done
echo done > $O/DONE
