# after the choice is committed: 0.5.4 and X on the held-out cohorts (in /tmp/s42; heldout.txt), then participant means
# with intervals: python ../2026-11-26-larger-heldout/intervals.py eval-1970-m054 eval-1970-x > intervals-heldout.txt (and 1980)
WORK=/tmp/s42 MODELS="m054 x" sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh heldout 1970 1980
