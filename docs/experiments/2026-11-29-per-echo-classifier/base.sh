# 0.5.4 (a copy of the bundled default as m054) on the selection cohorts, predicted as soon as they are simulated,
# before S exists (in /tmp/s39; select.txt)
mkdir -p /tmp/s39/m054 && cp /work/main/Resources/models/deepmir-multiclass-sim-w16.* /tmp/s39/m054/
WORK=/tmp/s39 MODELS="m054" sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh select 1750 1760
