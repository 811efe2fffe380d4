# 0.5.4 (a copy of the bundled default as m054) on the selection cohort, predicted as soon as it is simulated, before
# S exists (in /tmp/s40; select.txt)
mkdir -p /tmp/s40/m054 && cp /work/main/Resources/models/deepmir-multiclass-sim-w16.* /tmp/s40/m054/
WORK=/tmp/s40 MODELS="m054" sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh select 1790
