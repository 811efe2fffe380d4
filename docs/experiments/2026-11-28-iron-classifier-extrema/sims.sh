#!/bin/sh
# round 24 cohorts. usage: sims.sh one | two (at once, one per core; WORK defaults to /tmp/s29)
# training: train-r10 again, the set 0.5.3's iron classifier was fine-tuned on (320 nominal, 1010 protocol B, 30 each);
# calibration: the first 30 of 310 (nominal; in 0.5.3's calibration cohort, never trained on);
# selection, seeds used nowhere before: 570 (nominal, 40), 1300 (protocol T, 20), 1310 (protocol B, 20);
# held-out, measured only after the choice is committed: 1270 (protocol A, 40), 550 (nominal, 40), never simulated before.
. /work/main/.venv/bin/activate
. "$(dirname "$0")/../protocols.sh"  # T, A, B and sim
cd ${WORK:-/tmp/s29}
case "$1" in
  one) sim 320 --n 30 --out train-320
       sim 310 --n 30 --out cal-310
       sim 570 --n 40 --out select-570
       sim 1270 --n 40 --out heldout-1270 $A ;;
  two) sim 1010 --n 30 --out train-1010 $B
       sim 1300 --n 20 --out select-1300 $T
       sim 1310 --n 20 --out select-1310 $B
       sim 550 --n 40 --out heldout-550 ;;
esac
