# after the choice is committed: 0.5.4 and X on the held-out cohorts (in /tmp/s42; heldout.txt), then participant means
# with intervals: for f in eval-1970-m054 eval-1970-x eval-1980-m054 eval-1980-x; do python ../2026-11-26-larger-heldout/intervals.py $f; done > intervals-heldout.txt
WORK=/tmp/s42 MODELS="m054 x" sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh heldout 1970 1980
