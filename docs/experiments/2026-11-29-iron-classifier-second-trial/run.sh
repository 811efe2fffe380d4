# S on the selection cohort, after ../2026-11-29-per-echo-classifier/build_s.sh (WORK=/tmp/s40; select.txt), then
# python choose.py. First the identity check (not a selection): S and 0.5.4 on three protocol B participants of
# cal-1660 must write the same label files.
. /work/main/.venv/bin/activate
cd /tmp/s40
mkdir -p same-b && ln -sfn "$PWD"/cal-1660/sim-1660-000[0-2] same-b/
for M in m054 s; do deepmir predict --model $M/deepmir-multiclass-sim-w16.json --input same-b --out same-b-$M > same-b-$M.log 2>&1; done
for P in same-b-m054/*/; do cmp "$P"labels.nii.gz same-b-s/$(basename $P)/labels.nii.gz && echo "same: $(basename $P)"; done > same-b.txt 2>&1
WORK=/tmp/s40 MODELS="s" sh /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh select 1790
