#!/bin/bash
# round 29 diagnostic (README addendum): H09 on the selection and held-out cohorts, after run.sh's predictions
cd /tmp/s33
while [ ! -f heldout_DONE ]; do sleep 20; done
. /work/main/.venv/bin/activate
python /work/main/docs/experiments/2026-11-28-contrast-augmented-microbleeds/make_h09.py m053/deepmir-multiclass-sim-w16.json \
  h/deepmir-multiclass-sim-w16.json h09 > make_h09.log 2>&1
ln -sfn select-650 diag-650; ln -sfn select-1430 diag-1430; ln -sfn heldout-1440 diag-1440
WORK=/tmp/s33 MODELS="h09" nice /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh diag 650 1430 1440
