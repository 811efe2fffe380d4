# after round 35's choice and held-out: a diagnostic for the next round's lead, on cohorts already used (not a result).
# R = Q with an iron minimum of its own for SWI echo times from 15 ms, chosen on cal-1660 (protocol B, 20, never trained
# on; it also chose Q's minimum with cal-1650), then R on the selection cohort 1680 (protocol B; seen). In /tmp/s37.
# Ran as far as the build (build_r.log below): the calibration chose 0.85, Q's own minimum, so R decides as Q and the
# prediction was stopped.
. /work/main/.venv/bin/activate
cd /tmp/s37
M=deepmir-multiclass-sim-w16
python -m DeepMIRLib.secondstage --model q/$M.json --long-echo 15 --long-echo-classes iron --calibrate cal-1660 \
  --out r/$M.json --version 0.5.5-r > build_r.log 2>&1
deepmir predict --model r/$M.json --input select-1680 --out pred-1680-r > pred-1680-r.log 2>&1
deepmir evaluate --prediction pred-1680-r --reference select-1680 --out eval-1680-r > eval-1680-r.log 2>&1
python3 /work/main/docs/experiments/2026-11-26-paper-load-calibration/pooled.py eval-1680-r
