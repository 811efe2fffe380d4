#!/bin/sh
# round 22 cohorts. usage: sims.sh one | two (at once, one per core; WORK defaults to /tmp/s27)
# training: round 20's train-r20 again (1190, 1200: protocol T, --load hard, 14 each) and the first 10 of 440
# (nominal; only the fine-tunes' own calibrations use them, and this round replaces what they choose).
# seeds used nowhere before: selection 1250 (protocol T, 20), 540 (nominal, 20), 1260 (protocol B, 20);
# held-out 1270 (protocol A, 40) and 550 (nominal, 40), simulated now, measured only after the choice is committed.
. /work/main/.venv/bin/activate
. "$(dirname "$0")/../protocols.sh"  # T, A, B and sim
cd ${WORK:-/tmp/s27}
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
