#!/bin/bash
# round 30 in /tmp/s33: make H95, then predict and evaluate 0.5.3 (m053) and H95 on the selection cohorts, then on the
# held-out one (round 12's run_cohorts.sh)
cd /tmp/s33
. /work/main/.venv/bin/activate
python /work/main/docs/experiments/2026-11-28-contrast-augmented-minimum/make_h95.py h/deepmir-multiclass-sim-w16.json h95 \
  > make_h95.log 2>&1
ln -sfn select-670 r30sel-670; ln -sfn select-1460 r30sel-1460; ln -sfn heldout-1470 r30held-1470  # results r30sel.txt, r30held.txt
RUN=/work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh
WORK=/tmp/s33 MODELS="m053 h95" nice $RUN r30sel 670 1460
WORK=/tmp/s33 MODELS="m053 h95" nice $RUN r30held 1470
