# after the choice is committed: 0.5.4 and S on the held-out cohort (in /tmp/s40; heldout.txt), then participant means
# with intervals: python ../2026-11-26-larger-heldout/intervals.py eval-1800-m054 eval-1800-s > intervals-heldout.txt
WORK=/tmp/s40 MODELS="m054 s" sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh heldout 1800
