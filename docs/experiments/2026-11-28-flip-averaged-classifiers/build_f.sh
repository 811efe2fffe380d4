#!/bin/sh
# round 27: candidate F, 0.5.3 with both classifiers' probabilities averaged over the patch and its left-right, front-back
# and both-ways flips (`average_flips` in each second_stage section; make_f.py), then every minimum chosen again by
# `deepmir calibrate` on cal-610 (40 nominal, a seed never used before); the U-Net alone's minimums (--stages 1) are put back
# to 0.5.3's, so that only the second stage changes. No network is trained.
# usage (after sims.sh has made cal-610): WORK=/tmp/s31 sh build_f.sh
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s31}
while [ ! -f SIM610_DONE ]; do sleep 20; done
HERE=/work/main/docs/experiments/2026-11-28-flip-averaged-classifiers
M=deepmir-multiclass-sim-w16
mkdir -p m053
cp /work/main/Resources/models/$M.* m053/
python $HERE/make_f.py flips m053/$M.json f-uncalibrated > make_f.log 2>&1
nice deepmir calibrate --model f-uncalibrated/$M.json --data cal-610 --out f-calibrated/$M --version 0.5.4-f > calibrate_f.log 2>&1
python $HERE/make_f.py unet-minimums m053/$M.json f-calibrated/$M.json f >> make_f.log 2>&1
echo $? > BUILD_f_DONE
