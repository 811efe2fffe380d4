# round 39: 0.5.4 (m054, a copy of the bundled default) and V (make_v.py) on the selection cohorts, each as soon as it is
# simulated (in /tmp/s41; select.txt), then python choose.py
. /work/main/.venv/bin/activate
cd /tmp/s41
mkdir -p m054 && cp /work/main/Resources/models/deepmir-multiclass-sim-w16.* m054/
[ -f v/deepmir-multiclass-sim-w16.json ] || python /work/main/docs/experiments/2026-11-29-iron-operating-point/make_v.py \
  m054/deepmir-multiclass-sim-w16.json v/deepmir-multiclass-sim-w16.json > make_v.log 2>&1
# one process per cohort (two cores); both append to select.txt
for SEED in 1810 1830; do
  WORK=/tmp/s41 MODELS="m054 v" sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh select $SEED &
done
wait
