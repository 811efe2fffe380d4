# 0.5.4 (a copy of the bundled default as m054) on the selection and held-out cohorts (in /tmp/s36)
cd /tmp/s36
WORK=/tmp/s36 MODELS="m054" sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh select 1570 1580
WORK=/tmp/s36 MODELS="m054" sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh heldout 1590 1600
