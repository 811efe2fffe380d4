#!/bin/sh
# round 26 cohorts. usage: sims.sh one | two (at once, one per core; WORK defaults to /tmp/s30)
# training: train-r10 again (320 nominal, 1010 protocol B, 30 each), as rounds 24 and 25;
# calibration, seeds used nowhere before: 590 (nominal, 20) and 1340 (protocol B, 20), together cal-nb;
# selection, seeds used nowhere before: 600 (nominal, 40), 1350 (protocol T, 20), 1360 (protocol B, 20);
# held-out, measured only after a choice is committed: 1270 (protocol A, 40) and 580 (nominal, 40), never measured before.
. /work/main/.venv/bin/activate
. "$(dirname "$0")/../protocols.sh"  # T, A, B and sim
cd ${WORK:-/tmp/s30}
case "$1" in
  one) sim 320 --n 30 --out train-320
       sim 590 --n 20 --out cal-590
       sim 600 --n 40 --out select-600 ;;
  two) sim 1010 --n 30 --out train-1010 $B
       sim 1340 --n 20 --out cal-1340 $B
       sim 1350 --n 20 --out select-1350 $T
       sim 1360 --n 20 --out select-1360 $B ;;
esac
