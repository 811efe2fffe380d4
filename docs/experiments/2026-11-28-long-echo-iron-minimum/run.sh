# R on the selection cohorts, after build_r.sh (in /tmp/s38; select.txt), then python choose.py
WORK=/tmp/s38 MODELS="r" sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh select 1710 1720
