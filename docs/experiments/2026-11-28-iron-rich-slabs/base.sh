# 0.5.4 (a copy of the bundled default as m054, made by build_q.sh) on the selection cohorts, predicted as soon as they
# are simulated, before Q exists (in /tmp/s37; select.txt)
WORK=/tmp/s37 MODELS="m054" sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh select 1670 1680
