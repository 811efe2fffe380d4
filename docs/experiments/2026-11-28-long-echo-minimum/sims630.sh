#!/bin/bash
# round 32's nominal check cohort, after sims.sh's first lane: 630 (5, nominal protocol, first echo 7.5 ms)
source /work/main/docs/experiments/protocols.sh
export PATH=/work/main/.venv/bin:$PATH
cd /tmp/s35
while [ ! -f SIM1490_DONE ]; do sleep 20; done
sim 630 --n 5 --out nominal-630
