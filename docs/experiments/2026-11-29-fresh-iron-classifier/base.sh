# 0.5.4 (a copy of the bundled default as m054) on the selection cohorts, predicted as each is simulated, before W
# exists (in /tmp/s41; select.txt)
mkdir -p /tmp/s41/m054 && cp /work/main/Resources/models/deepmir-multiclass-sim-w16.* /tmp/s41/m054/
WORK=/tmp/s41 MODELS="m054" nice sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh select 1860 1870
