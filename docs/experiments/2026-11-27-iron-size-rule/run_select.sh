#!/bin/sh
# round 16's selection counts: count.py on each selection cohort after its simulation (sims.sh),
# as JSON lines in /tmp/s23/counts-select.jsonl; then choose.py's table and choice
. /work/main/.venv/bin/activate
cd /tmp/s23
HERE=/work/main/docs/experiments/2026-11-27-iron-size-rule
for SEED in 1120 1130 440; do
  while [ ! -f SIM${SEED}_DONE ]; do sleep 20; done
  python $HERE/count.py default counts-select.jsonl select-$SEED >> count.log 2>&1
done
echo done > SELECT_DONE
