#!/bin/sh
# round 23 cohorts, seeds used nowhere before. usage: sims.sh one | two (at once, one per core; WORK defaults to /tmp/s28)
# selection: 560 (nominal, 40), 1280 (protocol T, 20), 1290 (protocol B, 20);
# held-out, looked at only after the choice is committed: 1270 (protocol A, 40), 550 (nominal, 40).
. /work/main/.venv/bin/activate
. "$(dirname "$0")/../protocols.sh"  # T, A, B and sim
cd ${WORK:-/tmp/s28}
case "$1" in
  one) sim 560 --n 40 --out select-560
       sim 1270 --n 40 --out heldout-1270 $A ;;
  two) sim 1280 --n 20 --out select-1280 $T
       sim 1290 --n 20 --out select-1290 $B
       sim 550 --n 40 --out heldout-550 ;;
esac
