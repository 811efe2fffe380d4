#!/bin/sh
# round 23 cohorts, seeds used nowhere before. usage: sims.sh one | two (at once, one per core; WORK defaults to /tmp/s28)
# selection: 560 (nominal, 40), 1280 (protocol T, 20), 1290 (protocol B, 20);
# held-out, looked at only after the choice is committed: 1270 (protocol A, 40), 550 (nominal, 40).
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s28}
T="--spacing 0.9 0.9 2.5 --size 214 284 62 --echo-times 10 17 24 31 --b0 0.258819 0 0.965926 --noise-scale 1.8 --gre-bias 0.15"
A="--spacing 0.8 0.8 2.0 --size 240 320 78 --echo-times 20 28 36 44 --b0 0 0.173648 0.984808 --noise-scale 1.5 --gre-bias 0.2"
B="--spacing 1.0 1.0 1.5 --size 192 256 104 --echo-times 25 33 41 --b0 0.258819 0 0.965926 --noise-scale 1.2 --gre-bias 0.1"
sim() { seed=$1; shift; nice deepmir simulate --seed $seed "$@" > sim$seed.log 2>&1; echo $? > SIM${seed}_DONE; }
case "$1" in
  one) sim 560 --n 40 --out select-560
       sim 1270 --n 40 --out heldout-1270 $A ;;
  two) sim 1280 --n 20 --out select-1280 $T
       sim 1290 --n 20 --out select-1290 $B
       sim 550 --n 40 --out heldout-550 ;;
esac
