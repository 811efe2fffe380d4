#!/bin/sh
# round 25 cohorts. usage: sims.sh one | two (at once, one per core; WORK defaults to /tmp/s29, round 24's folder, whose
# train-r10 and cal-310 this round uses again)
# selection: 550 (nominal, 40; simulated by round 24's sims.sh as a held-out cohort, never measured, since round 24 chose
# nothing), and seeds used nowhere before: 1320 (protocol T, 20), 1330 (protocol B, 20);
# held-out, measured only after the choice is committed: 1270 (protocol A, 40), 580 (nominal, 40).
. /work/main/.venv/bin/activate
. "$(dirname "$0")/../protocols.sh"  # T, A, B and sim
cd ${WORK:-/tmp/s29}
case "$1" in
  one) sim 1320 --n 20 --out select-1320 $T
       sim 1270 --n 40 --out heldout-1270 $A ;;
  two) sim 1330 --n 20 --out select-1330 $B
       sim 580 --n 40 --out heldout-580 ;;
esac
