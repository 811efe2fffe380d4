#!/bin/sh
. /work/main/.venv/bin/activate
cd /tmp/s17
deepmir simulate --n 30 --seed 320 --out select-320 > sim320.log 2>&1; echo $? > SIM320_DONE
deepmir simulate --n 40 --seed 330 --out heldout-330 > sim330.log 2>&1; echo $? > SIM330_DONE
