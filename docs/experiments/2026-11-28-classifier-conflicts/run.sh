# build O, then predict and evaluate it on the selection cohorts (in /tmp/s36; select-o.txt)
. /work/main/.venv/bin/activate
cd /tmp/s36
python -m DeepMIRLib.secondstage --model default --second-opinion iron=0.5 --version 0.5.5 --out o/deepmir-multiclass-sim-w16.json
WORK=/tmp/s36 MODELS="o" sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh select 1570 1580
