#!/bin/sh
# round 26, after the choice: the held-out cohorts for the default 0.5.3. usage: heldout.sh one | two (at once)
. /work/main/.venv/bin/activate
. "$(dirname "$0")/../protocols.sh"  # T, A, B and sim
cd ${WORK:-/tmp/s30}
case "$1" in
  one) sim 580 --n 40 --out heldout-580 ;;
  two) sim 1270 --n 40 --out heldout-1270 $A ;;
esac
