#!/bin/sh
. /work/main/.venv/bin/activate
cd /tmp/s18
deepmir simulate --n 20 --seed 340 --out select-340 > sim340.log 2>&1; echo $? > SIM340_DONE
deepmir simulate --n 20 --seed 350 --out heldout-350 > sim350.log 2>&1; echo $? > SIM350_DONE
