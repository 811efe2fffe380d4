#!/bin/sh
# Round 46's cohorts, two simulations at a time, niced; each writes SIMSEED_DONE (protocols.sh's sim).
# Rebuilt (same seeds and options, the same bytes): train-2160 and train-2170 (round 45's U-Net training, through its
# sims_train.sh), train-1630, -1840, -1910 and -1920 (40 nominal iron-rich slabs each, round 43's classifier training), cal-1650
# and cal-1850 (20 nominal each, rounds 40-43's calibration). New (seeds used nowhere before): selection 2230 (20
# nominal) and 2240 (20, --vary-protocol). The slabs wait for the U-Net's training (train_p.sh) so that it runs alone.
# 1910 and 1920 were added by the plan's amendment after this script had started, before any model ran: they ran as a
# third job, the last lines here.
# usage: WORK=/tmp/s46 sh sims.sh
. /work/main/.venv/bin/activate
. /work/main/docs/experiments/protocols.sh
R45=/work/main/docs/experiments/2026-11-29-putamen-unet
cd ${WORK:-/tmp/s46}
(sh $R45/sims_train.sh hard
 while [ ! -f TRAIN_P_DONE ]; do sleep 20; done
 sim 1630 --n 40 --load dense --slab 32 --out train-1630
 sim 1650 --n 20 --out cal-1650
 sim 2230 --n 20 --out select-2230) &
(sh $R45/sims_train.sh vary
 while [ ! -f TRAIN_P_DONE ]; do sleep 20; done
 sim 1840 --n 40 --load dense --slab 32 --out train-1840
 sim 1850 --n 20 --out cal-1850
 sim 2240 --n 20 --vary-protocol --out select-2240) &
(while [ ! -f TRAIN_P_DONE ]; do sleep 20; done
 sim 1910 --n 40 --load dense --slab 32 --out train-1910
 sim 1920 --n 40 --load dense --slab 32 --out train-1920) &
wait
