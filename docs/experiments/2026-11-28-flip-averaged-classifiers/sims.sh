#!/bin/sh
# round 27 cohorts. usage: sims.sh one | two (at once, one per core; WORK defaults to /tmp/s31)
# calibration, a seed used nowhere before: 610 (nominal, 40);
# selection, seeds used nowhere before: 620 (nominal, 40), 1370 (protocol T, 20), 1380 (protocol B, 20).
. /work/main/.venv/bin/activate
. "$(dirname "$0")/../protocols.sh"  # T, A, B and sim
cd ${WORK:-/tmp/s31}
case "$1" in
  one) sim 610 --n 40 --out cal-610
       sim 1370 --n 20 --out select-1370 $T ;;
  two) sim 620 --n 40 --out select-620
       sim 1380 --n 20 --out select-1380 $B ;;
esac
