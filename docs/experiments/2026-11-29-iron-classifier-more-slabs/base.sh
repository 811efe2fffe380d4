# 0.5.4 (a copy of the bundled default as m054) on the selection cohorts, predicted as each is simulated, before X
# exists (in /tmp/s42; select.txt)
mkdir -p /tmp/s42/m054 && cp /work/main/Resources/models/deepmir-multiclass-sim-w16.* /tmp/s42/m054/
WORK=/tmp/s42 MODELS="m054" nice sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh select 1930 1940 1950 1960
