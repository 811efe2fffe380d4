# X on the selection cohorts, after build_x.sh (in /tmp/s42; select.txt), then python choose.py X 1930 1940 1950 1960
WORK=/tmp/s42 MODELS="x" nice sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh select 1930 1940 1950 1960
