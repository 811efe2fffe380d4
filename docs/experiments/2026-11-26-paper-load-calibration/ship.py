"""Install the recalibrated two-stage model as the bundled default 0.4.1: the same two weights
files as 0.4.0 (tensors checked identical), the card from `deepmir calibrate` on seed 730 with
held-out metrics on the cohorts of the fixed simulator; the registry entry follows."""
import hashlib
import json
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

src = Path("/tmp/s8/cal730/model")
dest = Path("/work/main/Resources/models")
stem = dest / "deepmir-multiclass-sim-w16"
card = json.loads(src.with_suffix(".json").read_text())
for new, bundled in ((str(src) + ".safetensors", str(stem) + ".safetensors"), (str(src) + ".second.safetensors", str(stem) + ".second.safetensors")):
    a, b = load_file(new), load_file(bundled)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a), f"{new} is not {bundled}"


def sha(p):
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


def block(folder):
    s = json.loads(Path(folder, "summary.json").read_text())
    out = {}
    for key, label in (("cmb", "cerebral_microbleed"), ("iron", "iron_deposit")):
        m = s[key]["summary"]
        out[label] = {"sensitivity": round(m["sensitivity"]["mean"], 2), "sensitivity_sem": round(m["sensitivity"]["sem"], 2),
                      "sensitivity_n": m["sensitivity"]["n"], "precision": round(m["precision"]["mean"], 2),
                      "precision_sem": round(m["precision"]["sem"], 2), "precision_n": m["precision"]["n"],
                      "false_positives_per_participant": round(m["false_positives_per_participant"]["mean"], 2),
                      "tp": m["tp"], "fp": m["fp"], "fn": m["fn"]}
    mimics = s["false_positives_on_mimics"]
    out["false_positives_on_mimics_per_participant"] = round(mimics["per_participant"], 2)
    out["false_positives_on_mimics_total"] = mimics["total_by_kind"]
    return out


E = Path("/tmp/s8/eval")
SIMULATOR = "the simulator of commit 894683f (iron deposits one connected region)"
unseen_protocol = ("deepmir simulate --n 20 --seed 910 --out heldout-910 --spacing 0.8 0.8 2.0 --size 240 320 78 --echo-times 20 28 36 44 "
                   "--b0 0 0.173648 0.984808 --noise-scale 1.5 --gre-bias 0.2")
card["weights_sha256"] = sha(str(stem) + ".safetensors")
second = card["second_stage"]
second["weights_file"] = stem.name + ".second.safetensors"
second["weights_sha256"] = sha(dest / second["weights_file"])
second["calibration"]["data"] = "deepmir simulate --n 20 --seed 730 --out calib-730 (" + SIMULATOR + "): " + second["calibration"]["data"]
second["training"]["selection"] = (
    "0.4.1's minimum probabilities (deepmir calibrate --model default --data calib-730 --out model --version 0.4.1) made the default by a rule "
    "fixed before measuring (docs/experiments/2026-11-26-paper-load-calibration): on the selection cohort (deepmir simulate --n 10 --seed 740) "
    "mean F1 of CMB and iron above 0.4.0's, neither class more than 0.03 below; it was CMB 0.944 / iron 0.929 against 0.944 / 0.812. "
    "0.4.0 itself: " + second["training"].get("selection", ""))
card["training"]["calibration"]["data"] = "deepmir simulate --n 20 --seed 730 --out calib-730 (" + SIMULATOR + ")"
card["training"]["simulator_note"] = ("both networks were trained on cohorts of the simulator before commit 894683f, in which about 1 iron deposit "
                                      "in 5 lay in pieces; the calibration (0.4.1) and the metrics below use the fixed simulator")
card["metrics"] = {
    "data": "held-out SIMULATED cohorts of 20 participants each (paper lesion load, " + SIMULATOR + "), seeds never used in training, "
            "selection or calibration",
    "matching": "centroids within 3 voxels (CMB) and 5 voxels (iron), optimal one-to-one assignment",
    "nominal_protocol": {"data": "deepmir simulate --n 20 --seed 200 --out heldout (1 x 1 x 1.5 mm, echoes 7.5-30 ms, B0 along the slice axis)",
                         "command": "deepmir predict --input heldout --out pred && deepmir evaluate --prediction pred --reference heldout --out eval",
                         **block(E / "eval-200-041-s2")},
    "unseen_protocol": {"data": unseen_protocol + " (first echo 20 ms, never in training: 5-15 ms; 0.8 x 0.8 x 2 mm; B0 tilted 10 degrees; "
                                                  "noise x 1.5; GRE bias 0.2)",
                        "command": "deepmir predict --input heldout-910 --out pred-910 && deepmir evaluate --prediction pred-910 "
                                   "--reference heldout-910 --out eval-910",
                        **block(E / "eval-910-041-s2")},
    "u_net_alone": {"command": "the same with predict --stages 1 (the U-Net with its own calibrated minimum probabilities)",
                    "nominal_protocol": block(E / "eval-200-041-s1"), "unseen_protocol": block(E / "eval-910-041-s1")},
    "targets": "issue 15: CMB sensitivity >= 0.95, precision >= 0.90; iron >= 0.90 / 0.90; <= 0.2 false positives on mimics per "
               "participant; the unseen protocol within 0.05 of the nominal figures",
    "targets_met": False,
}
card["description"] = card["description"].replace(
    "Version 0.4.0: the second stage, trained on the U-Net's candidates in 53 simulated participants (32 with the protocol varied per "
    "participant) and calibrated on 10 others;",
    "Version 0.4.0 added the second stage, trained on the U-Net's candidates in 53 simulated participants (32 with the protocol varied per "
    "participant); version 0.4.1 has the same two networks with both stages' minimum probabilities calibrated on 20 full-size simulated "
    "participants at the paper's lesion load;")
card["description"] = card["description"].replace("--stages 1 gives 0.3.0's U-Net alone.", "--stages 1 gives the U-Net alone (0.3.0's network, with its own calibrated minimum probabilities).")
assert "0.4.1" in card["description"] and "with its own calibrated" in card["description"]
stem.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")

registry = json.loads((dest / "registry.json").read_text())
entry = registry["models"][0]
assert entry["file"] == stem.name + ".json"
entry.update({
    "version": card["version"], "sha256": card["weights_sha256"],
    "calibrated_on": "20 simulated participants: deepmir simulate --n 20 --seed 730 (" + SIMULATOR + "): minimum lesion probability CMB "
                     f"{card['postprocessing']['min_lesion_probability']['cmb']}, iron {card['postprocessing']['min_lesion_probability']['iron']} "
                     f"(the U-Net alone, --stages 1); second stage CMB {second['min_probability']['cmb']}, iron {second['min_probability']['iron']}",
})
(dest / "registry.json").write_text(json.dumps(registry, indent=2) + "\n", encoding="utf-8")
print("installed", stem.with_suffix(".json"), card["version"])
