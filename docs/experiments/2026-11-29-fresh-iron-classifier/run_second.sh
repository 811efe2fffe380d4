# W's second trial: 0.5.4 and W on the selection cohorts 1890 and 1900 (in /tmp/s41; select_second.txt), then
# python choose_second.py
WORK=/tmp/s41 MODELS="m054 w" nice sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh select_second 1890 1900
