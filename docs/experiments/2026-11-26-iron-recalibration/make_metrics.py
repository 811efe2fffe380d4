"""The card's metrics for D (0.4.4) from round 6's held-out evaluations (eval-280-d, eval-980-d)."""
import json
from pathlib import Path


def class_metrics(summary: dict) -> dict:
    s = summary["summary"]
    out = {}
    for key in ("sensitivity", "precision"):
        out[key] = round(s[key]["mean"], 2)
        out[f"{key}_sem"] = round(s[key]["sem"], 2)
        out[f"{key}_n"] = s[key]["n"]
    out["false_positives_per_participant"] = round(s["false_positives_per_participant"]["mean"], 2)
    out.update({k: s[k] for k in ("tp", "fp", "fn")})
    return out


def cohort_metrics(folder: str, data: str, command: str) -> dict:
    d = json.loads(Path(folder, "summary.json").read_text())
    return {"data": data, "command": command, "cerebral_microbleed": class_metrics(d["cmb"]), "iron_deposit": class_metrics(d["iron"]),
            "false_positives_on_mimics_per_participant": d["false_positives_on_mimics"]["per_participant"],
            "false_positives_on_mimics_total": d["false_positives_on_mimics"]["total_by_kind"]}


metrics = {
    "data": ("held-out SIMULATED cohorts of 20 participants each (paper lesion load), seeds never used in training, selection or "
             "calibration (docs/experiments/2026-11-26-iron-recalibration); the U-Net-alone figures are 0.4.2's on seeds 230 and 930 "
             "(the same U-Net)"),
    "nominal_protocol": cohort_metrics("/tmp/s13/eval-280-d", "deepmir simulate --n 20 --seed 280 --out heldout-280",
                                       "deepmir predict --input heldout-280 --out pred && deepmir evaluate --prediction pred --reference heldout-280 --out eval"),
    "unseen_protocol": cohort_metrics(
        "/tmp/s13/eval-980-d", "deepmir simulate --n 20 --seed 980 --out heldout-980 --spacing 0.8 0.8 2.0 --size 240 320 78 --echo-times 20 28 36 44 "
        "--b0 0 0.173648 0.984808 --noise-scale 1.5 --gre-bias 0.2 (first echo 20 ms, never in training: 5-15 ms; 0.8 x 0.8 x 2 mm; B0 tilted 10 degrees; "
        "noise x 1.5; GRE bias 0.2)",
        "deepmir predict --input heldout-980 --out pred-980 && deepmir evaluate --prediction pred-980 --reference heldout-980 --out eval-980"),
}
Path("/tmp/s13/metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
print(json.dumps(metrics, indent=1))
