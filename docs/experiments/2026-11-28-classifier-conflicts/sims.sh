# round 33's cohorts (in /tmp/s36): the development cohort 560 (seen before), selection 1570 and 1580,
# held-out 1590 and 1600; `sim` and the protocols from ../protocols.sh
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
cd /tmp/s36
sim 560 --n 40 --out dev-560 &
sim 1570 --n 40 --out select-1570 &
wait
sim 1580 --n 20 --out select-1580 $B
sim 1590 --n 20 --out heldout-1590 $A
sim 1600 --n 40 --out heldout-1600
