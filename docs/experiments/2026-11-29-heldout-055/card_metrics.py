"""After round 44 (it chose nothing, so the weights and every other field stay): the bundled 0.5.5 card's
held-out figures become those of whole groups of held-out cohorts evaluated together, instead of one cohort's 20.

nominal: its 100 held-out nominal participants (2080 of round 43, simulated again with the same seed, and
2120-2150 of this round) -> metrics.nominal_protocol (was 2080 alone). In /tmp/s45, after run.sh; `again/`
holds 2080 simulated again (`sim 2080 --n 20 --out heldout-2080` of ../protocols.sh):
  deepmir predict --model m055/deepmir-multiclass-sim-w16.json --input again/heldout-2080 --out again/pred-2080-m055
  deepmir evaluate --prediction again/pred-2080-m055 --reference again/heldout-2080 --out again/eval-2080-m055
  (its counts must be round 43's heldout.txt's for Z: the simulation and the prediction are reproducible)
  mkdir ref-all pred-all; link every participant folder of the five cohorts into them
  deepmir evaluate --prediction pred-all --reference ref-all --out eval-all-m055
  python card_metrics.py nominal

unseen: the four held-out protocol A cohorts of rounds 35-41 (1700, 1740, 1780, 1980), simulated again by
sims_a.sh and predicted by run_cohorts.sh (MODELS=m055) -> metrics.unseen_protocol (was 1510 alone):
  mkdir ref-a pred-a; link their participant folders into them
  deepmir evaluate --prediction pred-a --reference ref-a --out eval-a-m055
  python card_metrics.py unseen
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-27-long-echo-unet"))
from bundling import check, cohort_metrics

from DeepMIRLib.atomic import write_text_atomic

RECORD = "docs/experiments/2026-11-29-heldout-055"
card_path = Path(__file__).resolve().parents[3] / "Resources" / "models" / "deepmir-multiclass-sim-w16.json"


def nominal(metrics: dict) -> None:
    assert metrics["nominal_protocol"]["data"] == "deepmir simulate --n 20 --seed 2080"
    first = "docs/experiments/2026-11-29-fresh-iron-recipe-slabs"
    metrics["data"] = metrics["data"].replace(
        f"nominal 2080 held out, predicted after round 43's choice was committed ({first})",
        "nominal 2080, 2120, 2130, 2140 and 2150 held out, predicted after round 43's choice was committed (round 44 "
        f"chose nothing; {first} and {RECORD})")
    assert "2150" in metrics["data"]
    metrics["nominal_protocol"] = cohort_metrics(
        "eval-all-m055", "deepmir simulate --n 20 with --seed 2080, 2120, 2130, 2140 and 2150 (100 participants, evaluated together)")


def unseen(metrics: dict) -> None:
    options = metrics["unseen_protocol"]["data"].split(" --seed 1510 ", 1)[1].split(" (protocol A", 1)[0]
    assert options.startswith("--spacing 0.8 0.8 2.0")
    metrics["data"] = metrics["data"].replace(
        "protocol A 1510 as 0.5.4", f"protocol A 1700, 1740, 1780 and 1980 held out in rounds 35-41 ({RECORD})")
    assert "1980" in metrics["data"]
    metrics["unseen_protocol"] = cohort_metrics(
        "eval-a-m055", f"deepmir simulate --n 20 {options} with --seed 1700, 1740, 1780 and 1980 (protocol A: used by no "
        "training, calibration or selection; first echo 20 ms, so the long-echo minimum applies; 80 participants, evaluated together)")


if __name__ == "__main__":
    parts = {"nominal": nominal, "unseen": unseen}
    if len(sys.argv) != 2 or sys.argv[1] not in parts:
        sys.exit("usage: python card_metrics.py nominal|unseen")
    card = json.loads(card_path.read_text())
    assert card["version"] == "0.5.5"
    parts[sys.argv[1]](card["metrics"])
    write_text_atomic(card_path, json.dumps(card, indent=2) + "\n")
    check(str(card_path))
    print(json.dumps(card["metrics"], indent=1))
