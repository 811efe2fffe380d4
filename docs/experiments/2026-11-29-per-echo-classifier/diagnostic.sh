#!/bin/sh
# After round 37 (a diagnostic, not a selection): how 0.5.4's iron classifier scores the deposits of long-echo
# participants, as the library's long-echo calibration tables them (TP / FP / FN per minimum from 0.05 to 0.95): on 40
# protocol B participants (cal-1660 and select-1760) and on the held-out protocol A cohort 1780, already seen.
# usage (in /tmp/s39, after run_heldout.sh): sh diagnostic.sh
. /work/main/.venv/bin/activate
M=deepmir-multiclass-sim-w16
mkdir -p diag-b && ln -sfn "$PWD"/cal-1660/sim-1660-* "$PWD"/select-1760/sim-1760-* diag-b/
python -m DeepMIRLib.secondstage --model m054/$M.json --long-echo 15 --long-echo-classes iron --calibrate diag-b \
  --out diag-b-model/$M.json > diag-b.log 2>&1 &
python -m DeepMIRLib.secondstage --model m054/$M.json --long-echo 15 --long-echo-classes iron --calibrate heldout-1780 \
  --out diag-a-model/$M.json > diag-a.log 2>&1
wait
