#!/bin/sh
# round 32, after the choice is committed: 0.5.3 (m053) and F on the held-out heldout-1510 (protocol A), round 12's run_cohorts.sh
cd /tmp/s35
WORK=/tmp/s35 MODELS="m053 f" nice /work/main/docs/experiments/2026-11-27-long-echo-microbleeds/run_cohorts.sh heldout 1510
