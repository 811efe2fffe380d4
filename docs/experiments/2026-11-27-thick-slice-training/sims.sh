#!/bin/sh
# round 20 cohorts. T: the thick-slice training protocol (not A: other voxel size, echoes, B0 tilt, noise, bias)
. /work/main/.venv/bin/activate
cd /tmp/s26
T="--spacing 0.9 0.9 2.5 --size 214 284 62 --echo-times 10 17 24 31 --b0 0.258819 0 0.965926 --noise-scale 1.8 --gre-bias 0.15"
A="--spacing 0.8 0.8 2.0 --size 240 320 78 --echo-times 20 28 36 44 --b0 0 0.173648 0.984808 --noise-scale 1.5 --gre-bias 0.2"
case "$1" in
  one) nice deepmir simulate --n 14 --seed 1190 --load hard --out train-1190 $T > sim1190.log 2>&1; echo $? > SIM1190_DONE
       nice deepmir simulate --n 20 --seed 480 --out select-480 > sim480.log 2>&1; echo $? > SIM480_DONE ;;
  two) nice deepmir simulate --n 14 --seed 1200 --load hard --out train-1200 $T > sim1200.log 2>&1; echo $? > SIM1200_DONE
       nice deepmir simulate --n 20 --seed 1210 --out select-1210 $T > sim1210.log 2>&1; echo $? > SIM1210_DONE ;;
  heldout) nice deepmir simulate --n 40 --seed 1220 --out heldout-1220 $A > sim1220.log 2>&1; echo $? > SIM1220_DONE ;;
esac
