# S on the selection cohorts, after build_s.sh (in /tmp/s39; select.txt), then python choose.py
WORK=/tmp/s39 MODELS="s" sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh select 1750 1760
