# round 34's held-out cohorts (in /tmp/s36), nominal, two processes
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
cd /tmp/s36
sim 1610 --n 20 --out heldout-1610 &
sim 1620 --n 20 --out heldout-1620 &
wait
