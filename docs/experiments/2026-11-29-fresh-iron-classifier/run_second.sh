# W's second trial: 0.5.4 and W on the selection cohorts 1890 and 1900 (in /tmp/s41; select_second.txt), then
# python choose_second.py. run_cohorts.sh reads the cohort PREFIX-SEED: select_second-SEED links to sims_second.sh's
# select-SEED (the first start lacked these links and stopped at once: no input folder, nothing predicted).
cd /tmp/s41 && ln -sfn select-1890 select_second-1890 && ln -sfn select-1900 select_second-1900
WORK=/tmp/s41 MODELS="m054 w" nice sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh select_second 1890 1900
