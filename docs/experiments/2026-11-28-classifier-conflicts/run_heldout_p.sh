# after round 34's choice: 0.5.4 and P on the held-out nominal cohorts 1610 and 1620 together (in /tmp/s36;
# heldout-p.txt); participants.tsv of both is not needed by predict or evaluate
. /work/main/.venv/bin/activate
cd /tmp/s36
while [ ! -f SIM1610_DONE ] || [ ! -f SIM1620_DONE ]; do sleep 20; done
mkdir -p heldout-p
for d in heldout-1610/sim-* heldout-1620/sim-*; do ln -sfn "$PWD/$d" heldout-p/; done
for M in m054 p; do
  deepmir predict --model $M/deepmir-multiclass-sim-w16.json --input heldout-p --out pred-p-$M > pred-p-$M.log 2>&1
  deepmir evaluate --prediction pred-p-$M --reference heldout-p --out eval-p-$M > eval-p-$M.log 2>&1
  echo "heldout-p $M:" >> heldout-p.txt
  python3 /work/main/docs/experiments/2026-11-26-paper-load-calibration/pooled.py eval-p-$M >> heldout-p.txt 2>&1
done
echo done > HELDOUT_P_DONE
