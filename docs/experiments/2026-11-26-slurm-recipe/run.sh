#!/bin/bash
# The README's SLURM recipe, sized for this 2-core machine: one job of 2 worker processes.
set -e
source "${VENV:-.venv}/bin/activate"  # the environment with DeepMIRLib[cohort,fast] and dask-jobqueue
cd "${WORK:-.}"  # a folder holding cohort/: links to the participants
python - > cluster.out 2> cluster.err <<'PY' &
from dask_jobqueue import SLURMCluster
cluster = SLURMCluster(cores=2, processes=2, memory="4GB", walltime="01:00:00",
                       scheduler_options={"port": 8786})
cluster.scale(jobs=1)  # 2 workers
print(cluster.scheduler_address, flush=True)
import time; time.sleep(10**9)
PY
CLUSTER=$!
sleep 8
cat cluster.out; squeue
time deepmir predict --input cohort --out out-slurm --scheduler tcp://$(hostname):8786
squeue
kill $CLUSTER; sleep 3; squeue
time deepmir predict --input cohort --out out-serial
diff out-slurm/cohort.tsv out-serial/cohort.tsv && echo "cohort.tsv identical"
for p in cohort/*; do n=$(basename $p); cmp <(zcat out-slurm/$n/labels.nii.gz) <(zcat out-serial/$n/labels.nii.gz) && diff -q out-slurm/$n/lesions.tsv out-serial/$n/lesions.tsv && echo "$n labels and lesions identical"; done
