# after the choice: O on the held-out cohorts (in /tmp/s36; heldout.txt, beside 0.5.4's from base.sh)
cd /tmp/s36
WORK=/tmp/s36 MODELS="o" sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh heldout 1590 1600
