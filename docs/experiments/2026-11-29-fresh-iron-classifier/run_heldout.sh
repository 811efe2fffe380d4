# after the choice is committed: 0.5.4 and W on the held-out cohort (in /tmp/s41; heldout.txt), then participant means
# with intervals: python ../2026-11-26-larger-heldout/intervals.py eval-1880-m054 eval-1880-w > intervals-heldout.txt
WORK=/tmp/s41 MODELS="m054 w" sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh heldout 1880
