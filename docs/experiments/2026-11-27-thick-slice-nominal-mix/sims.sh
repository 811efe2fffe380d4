#!/bin/sh
# round 21 cohorts, seeds used nowhere before: training 490 (nominal, --load hard, 14); selection 1230 (protocol T, 20),
# 510 (nominal, 20), 1240 (protocol B, 20). usage: sims.sh one | two (at once, one per core; WORK defaults to /tmp/s26)
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s26}
T="--spacing 0.9 0.9 2.5 --size 214 284 62 --echo-times 10 17 24 31 --b0 0.258819 0 0.965926 --noise-scale 1.8 --gre-bias 0.15"
B="--spacing 1.0 1.0 1.5 --size 192 256 104 --echo-times 25 33 41 --b0 0.258819 0 0.965926 --noise-scale 1.2 --gre-bias 0.1"
case "$1" in
  one) nice deepmir simulate --n 14 --seed 490 --load hard --out train-490 > sim490.log 2>&1; echo $? > SIM490_DONE
       nice deepmir simulate --n 20 --seed 510 --out select-510 > sim510.log 2>&1; echo $? > SIM510_DONE ;;
  two) nice deepmir simulate --n 20 --seed 1230 --out select-1230 $T > sim1230.log 2>&1; echo $? > SIM1230_DONE
       nice deepmir simulate --n 20 --seed 1240 --out select-1240 $B > sim1240.log 2>&1; echo $? > SIM1240_DONE ;;
esac
