#!/bin/sh
# Round 49's cohorts in WORK (/tmp/s49): the calibration cohorts first (cal-b: round 32's protocol B ones; cal-nom: 0.5.6's
# nominal ones), then the fresh selection cohorts, then (simulated now, predicted only after the choice) the held-out ones
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
cd ${WORK:-/tmp/s49}
(sim 1480 --n 10 $B --out cal-b-1480; sim 1490 --n 20 $B --out cal-b-1490; sim 2290 --n 20 --out select-2290;
 sim 2310 --n 20 --vary-protocol --out select-2310; sim 2330 --n 20 --out heldout-2330) &
(sim 1650 --n 20 --out cal-nom-1650; sim 1850 --n 20 --out cal-nom-1850; sim 2300 --n 20 $B --out select-2300;
 sim 2320 --n 20 $A --out heldout-2320) &
wait
