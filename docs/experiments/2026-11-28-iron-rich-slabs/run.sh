# Q on the selection cohorts, after build_q.sh (in /tmp/s37; select.txt), then python choose.py
WORK=/tmp/s37 MODELS="q" sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh select 1670 1680
