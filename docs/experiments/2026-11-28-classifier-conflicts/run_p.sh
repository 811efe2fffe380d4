# build P, then predict and evaluate it on the selection cohort 1600 (in /tmp/s36; heldout.txt, after round 33's
# diagnostic of O there)
. /work/main/.venv/bin/activate
cd /tmp/s36
python -m DeepMIRLib.secondstage --model default --second-opinion iron=0.5 --second-opinion-below 15 --version 0.5.5 \
  --out p/deepmir-multiclass-sim-w16.json
WORK=/tmp/s36 MODELS="p" sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh heldout 1600
