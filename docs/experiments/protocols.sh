# The simulation protocols of rounds 22 and 23 (issue 15), sourced by their sims.sh, and `sim`, which
# simulates one cohort niced, logs to simSEED.log and writes its exit status to SIMSEED_DONE.
# T: thick-slice training protocol; A: the unseen protocol no training, calibration or selection uses;
# B: long-echo protocol (selection only).
T="--spacing 0.9 0.9 2.5 --size 214 284 62 --echo-times 10 17 24 31 --b0 0.258819 0 0.965926 --noise-scale 1.8 --gre-bias 0.15"
A="--spacing 0.8 0.8 2.0 --size 240 320 78 --echo-times 20 28 36 44 --b0 0 0.173648 0.984808 --noise-scale 1.5 --gre-bias 0.2"
B="--spacing 1.0 1.0 1.5 --size 192 256 104 --echo-times 25 33 41 --b0 0.258819 0 0.965926 --noise-scale 1.2 --gre-bias 0.1"
sim() { seed=$1; shift; nice deepmir simulate --seed $seed "$@" > sim$seed.log 2>&1; echo $? > SIM${seed}_DONE; }
