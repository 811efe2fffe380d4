"""After round 44 (it chose nothing, so the weights and every other field stay): the bundled 0.5.5 card's
nominal figures become those of its 100 held-out nominal participants (2080 of round 43, simulated again with
the same seed, and 2120-2150 of this round) in one evaluation, instead of 2080's 20 alone.

In /tmp/s45, after run.sh; `again/` holds 2080 simulated again (`sim 2080 --n 20 --out heldout-2080` of
../protocols.sh):
  deepmir predict --model m055/deepmir-multiclass-sim-w16.json --input again/heldout-2080 --out again/pred-2080-m055
  deepmir evaluate --prediction again/pred-2080-m055 --reference again/heldout-2080 --out again/eval-2080-m055
  (its counts must be round 43's heldout.txt's for Z: the simulation and the prediction are reproducible)
  mkdir ref-all pred-all; link every participant folder of the five cohorts into them
  deepmir evaluate --prediction pred-all --reference ref-all --out eval-all-m055
  python card_metrics.py
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-27-long-echo-unet"))
from bundling import check, cohort_metrics

from DeepMIRLib.atomic import write_text_atomic

RECORDS = "docs/experiments/2026-11-29-fresh-iron-recipe-slabs and docs/experiments/2026-11-29-heldout-055"
card_path = Path(__file__).resolve().parents[3] / "Resources" / "models" / "deepmir-multiclass-sim-w16.json"
card = json.loads(card_path.read_text())
assert card["version"] == "0.5.5" and card["metrics"]["nominal_protocol"]["data"] == "deepmir simulate --n 20 --seed 2080"
card["metrics"]["data"] = card["metrics"]["data"].replace(
    f"nominal 2080 held out, predicted after round 43's choice was committed ({RECORDS.split(' and ')[0]})",
    "nominal 2080, 2120, 2130, 2140 and 2150 held out, predicted after round 43's choice was committed (round 44 chose "
    f"nothing; {RECORDS})")
assert "2150" in card["metrics"]["data"]
card["metrics"]["nominal_protocol"] = cohort_metrics(
    "eval-all-m055", "deepmir simulate --n 20 with --seed 2080, 2120, 2130, 2140 and 2150 (100 participants, evaluated together)")
write_text_atomic(card_path, json.dumps(card, indent=2) + "\n")
check(str(card_path))
print(json.dumps(card["metrics"]["nominal_protocol"], indent=1))
