"""Add to the bundled 0.4.4 card's metrics the larger held-out cohorts of rounds 8 and 9
(their evaluations of the default, two stages), beside round 6's cohorts of 20, which
the card already gives: a user reading `deepmir info default` sees how much the figures move
between cohorts. Only the card's metrics change; the model does not.

python card_metrics.py   (after round 8's run.sh in /tmp/s16 and round 9's run_heldout.sh in /tmp/s17)
"""
import json
import subprocess
import sys
from pathlib import Path


def cohort_metrics(folder: str, simulation: str, record: str) -> dict:
    """A cohort's figures in the form of the card's round-6 metrics, from `deepmir evaluate`'s summary."""
    d = json.loads(Path(folder, "summary.json").read_text())
    by_class = {}
    for key, name in (("cmb", "cerebral_microbleed"), ("iron", "iron_deposit")):
        s = d[key]["summary"]
        by_class[name] = {**{f"{m}{part}": round(s[m][k], 2) if k != "n" else s[m][k]
                             for m in ("sensitivity", "precision") for part, k in (("", "mean"), ("_sem", "sem"), ("_n", "n"))},
                          **{k: s[k] for k in ("tp", "fp", "fn")}}
    return {"data": simulation, "record": record,
            "command": "deepmir predict --input COHORT --out pred && deepmir evaluate --prediction pred --reference COHORT --out eval",
            **by_class, "false_positives_on_mimics_per_participant": round(d["false_positives_on_mimics"]["per_participant"], 3),
            "false_positives_on_mimics_total": d["false_positives_on_mimics"]["total_by_kind"]}

UNSEEN = ("--spacing 0.8 0.8 2.0 --size 240 320 78 --echo-times 20 28 36 44 --b0 0 0.173648 0.984808 --noise-scale 1.5 --gre-bias 0.2 "
          "(the unseen protocol)")
COHORTS = {  # name: (evaluation folder, simulation, record)
    "nominal_310": ("/tmp/s16/eval-310-s2", "deepmir simulate --n 60 --seed 310", "docs/experiments/2026-11-26-larger-heldout"),
    "unseen_1000": ("/tmp/s16/eval-1000-s2", f"deepmir simulate --n 40 --seed 1000 {UNSEEN}", "docs/experiments/2026-11-26-larger-heldout"),
    "nominal_330": ("/tmp/s17/eval-330-m044", "deepmir simulate --n 40 --seed 330", "docs/experiments/2026-11-27-unet-iron-rule"),
    "unseen_1020": ("/tmp/s17/eval-1020-m044", f"deepmir simulate --n 40 --seed 1020 {UNSEEN}", "docs/experiments/2026-11-27-unet-iron-rule"),
}
card_path = Path(__file__).resolve().parents[3] / "Resources" / "models" / "deepmir-multiclass-sim-w16.json"
card = json.loads(card_path.read_text())
assert card["version"] == "0.4.4"
larger = {"data": ("larger held-out SIMULATED cohorts (paper lesion load), seeds never used in training, selection or calibration, "
                   "measured after round 6 chose this model; participant means +- SEM and pooled counts")}
for name, (folder, simulation, record) in COHORTS.items():
    larger[name] = cohort_metrics(folder, simulation, record)
card["metrics"]["larger_held_out"] = larger
card_path.write_text(json.dumps(card, indent=2) + "\n")
subprocess.run([sys.executable, "-m", "DeepMIRLib.cli", "info", str(card_path), "--check"], check=True, stdout=subprocess.DEVNULL)
print(json.dumps(larger, indent=1))
