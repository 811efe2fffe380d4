#!/bin/sh
# Round 45 training cohorts (seeds used nowhere before)
set -e
D=/work/main/.venv/bin/deepmir
case "$1" in
  hard) nice $D simulate --n 20 --seed 2160 --load hard --out train-2160 > sim-2160.log 2>&1 ;;
  vary) nice $D simulate --n 20 --seed 2170 --load hard --vary-protocol --out train-2170 > sim-2170.log 2>&1 ;;
esac
touch DONE-$1
