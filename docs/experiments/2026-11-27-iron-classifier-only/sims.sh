#!/bin/sh
# round 22 cohorts. usage: sims.sh one | two (at once, one per core; WORK defaults to /tmp/s27)
# training: round 20's train-r20 again (1190, 1200: protocol T, --load hard, 14 each) and the first 10 of 440
# (nominal; only the fine-tunes' own calibrations use them, and this round replaces what they choose).
# seeds used nowhere before: selection 1250 (protocol T, 20), 540 (nominal, 20), 1260 (protocol B, 20);
# held-out 1270 (protocol A, 40) and 550 (nominal, 40), simulated now, measured only after the choice is committed.
. /work/main/.venv/bin/activate
cd ${WORK:-/tmp/s27}
T="--spacing 0.9 0.9 2.5 --size 214 284 62 --echo-times 10 17 24 31 --b0 0.258819 0 0.965926 --noise-scale 1.8 --gre-bias 0.15"
A="--spacing 0.8 0.8 2.0 --size 240 320 78 --echo-times 20 28 36 44 --b0 0 0.173648 0.984808 --noise-scale 1.5 --gre-bias 0.2"
B="--spacing 1.0 1.0 1.5 --size 192 256 104 --echo-times 25 33 41 --b0 0.258819 0 0.965926 --noise-scale 1.2 --gre-bias 0.1"
sim() { seed=$1; shift; nice deepmir simulate --seed $seed "$@" > sim$seed.log 2>&1; echo $? > SIM${seed}_DONE; }
case "$1" in
  one) sim 1190 --n 14 --load hard --out train-1190 $T
       sim 440 --n 10 --out cal-440
       sim 540 --n 20 --out select-540
       sim 1260 --n 20 --out select-1260 $B
       sim 1270 --n 40 --out heldout-1270 $A ;;
  two) sim 1200 --n 14 --load hard --out train-1200 $T
       sim 1250 --n 20 --out select-1250 $T
       sim 550 --n 40 --out heldout-550 ;;
esac
