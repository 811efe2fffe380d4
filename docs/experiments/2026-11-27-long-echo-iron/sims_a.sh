#!/bin/sh
. /work/main/.venv/bin/activate
cd /tmp/s19
deepmir simulate --n 20 --seed 360 --out select-360 > sim360.log 2>&1; echo $? > SIM360_DONE
deepmir simulate --n 20 --seed 370 --out heldout-370 > sim370.log 2>&1; echo $? > SIM370_DONE
