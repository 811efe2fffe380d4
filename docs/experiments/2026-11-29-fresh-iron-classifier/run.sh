# W on the selection cohorts, after build_w.sh (in /tmp/s41; select.txt), then python choose.py
WORK=/tmp/s41 MODELS="w" nice sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh select 1860 1870
