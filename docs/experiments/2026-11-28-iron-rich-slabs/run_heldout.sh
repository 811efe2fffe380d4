# after the choice is committed: 0.5.4 and Q on the held-out cohorts (in /tmp/s37; heldout.txt)
WORK=/tmp/s37 MODELS="m054 q" sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh heldout 1690 1700
