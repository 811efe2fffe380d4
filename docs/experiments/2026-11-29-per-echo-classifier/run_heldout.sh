# after the choice is committed: 0.5.4 and S on the held-out cohorts (in /tmp/s39; heldout.txt)
WORK=/tmp/s39 MODELS="m054 s" sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh heldout 1770 1780
