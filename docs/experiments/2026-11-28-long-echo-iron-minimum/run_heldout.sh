# after the choice is committed: 0.5.4 and R on the held-out cohorts (in /tmp/s38; heldout.txt)
WORK=/tmp/s38 MODELS="m054 r" sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh heldout 1730 1740
