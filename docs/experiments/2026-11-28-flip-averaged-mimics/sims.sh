#!/bin/sh
# round 28 cohorts. usage: sims.sh one | two (at once, one per core; WORK defaults to /tmp/s32)
# selection, seeds used nowhere before: 640 (nominal, 40), 1410 (protocol T, 20), 1420 (protocol B, 20).
. /work/main/.venv/bin/activate
. "$(dirname "$0")/../protocols.sh"  # T, A, B and sim
cd ${WORK:-/tmp/s32}
case "$1" in
  one) sim 640 --n 40 --out select-640 ;;
  two) sim 1410 --n 20 --out select-1410 $T
       sim 1420 --n 20 --out select-1420 $B ;;
esac
