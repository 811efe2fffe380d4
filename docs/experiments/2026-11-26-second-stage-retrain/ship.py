"""Install the retrained two-stage model as the bundled default 0.4.2: 0.4.1's U-Net (tensors
checked identical; its int8 file, if the card has one, stays valid), the second stage trained
again on 77 participants (0.4.1's 53 and 24 full-size paper-load ones of seed 530) and
calibrated on seed 730; held-out metrics on seeds 230 and 930; the registry entry follows."""
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

RUN = Path("/tmp/s9")
src = RUN / "retrain" / "model"
dest = Path("/work/main/Resources/models")
stem = dest / "deepmir-multiclass-sim-w16"
bundled = json.loads(stem.with_suffix(".json").read_text())
new = json.loads(src.with_suffix(".json").read_text())
a, b = load_file(str(src) + ".safetensors"), load_file(str(stem) + ".safetensors")
assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a), "the U-Net changed"
assert new["postprocessing"] == bundled["postprocessing"]


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


shutil.copyfile(str(src) + ".second.safetensors", str(stem) + ".second.safetensors")
second = new["second_stage"]
second["weights_file"] = stem.name + ".second.safetensors"
second["weights_sha256"] = sha(str(stem) + ".second.safetensors")
assert second["weights_sha256"] == sha(str(src) + ".second.safetensors")
SIMULATOR = "the simulator of commit 894683f (iron deposits one connected region)"
second["training"]["command"] = (
    "0.4.1's 53 training participants (train-mix: seeds 520, 700, 701, old simulator) and deepmir simulate --n 24 --seed 530 --vary-protocol "
    "--out train-530 (" + SIMULATOR + ") in one folder train-all; python -m DeepMIRLib.secondstage --model default --train train-all "
    "--calibrate calib-730 --out model.json --proposal 0.02 --version 0.4.2 --threads 2 (U-Net: 0.4.1's, the 0.3.0 network)")
second["calibration"]["data"] = "deepmir simulate --n 20 --seed 730 --out calib-730 (" + SIMULATOR + "): " + second["calibration"]["data"]
second["training"]["selection"] = (
    "made the default by a rule fixed before measuring (docs/experiments/2026-11-26-second-stage-retrain): on the selection cohort, "
    "two stages, mean F1 of CMB and iron (pooled) above 0.4.1's, neither class more than 0.03 below; "
    + (RUN / "selection-sentence.txt").read_text().strip() + " 0.4.1: " + bundled["second_stage"]["training"].get("selection", ""))
bundled["second_stage"] = second
bundled["version"] = "0.4.2"
bundled["created"] = new.get("created", bundled.get("created", ""))
unseen_protocol = ("deepmir simulate --n 20 --seed 930 --out heldout-930 --spacing 0.8 0.8 2.0 --size 240 320 78 --echo-times 20 28 36 44 "
                   "--b0 0 0.173648 0.984808 --noise-scale 1.5 --gre-bias 0.2")
bundled["metrics"] = {
    "data": "held-out SIMULATED cohorts of 20 participants each (paper lesion load, " + SIMULATOR + "), seeds never used in training, "
            "selection or calibration; the unseen-protocol cohort holds two participants with more than 100 microbleeds (127 and 113; the paper's load has such outliers), which dominate its pooled microbleed counts",
    "matching": "centroids within 3 voxels (CMB) and 5 voxels (iron), optimal one-to-one assignment",
    "nominal_protocol": {"data": "deepmir simulate --n 20 --seed 230 --out heldout-230 (1 x 1 x 1.5 mm, echoes 7.5-30 ms, B0 along the slice axis)",
                         "command": "deepmir predict --input heldout-230 --out pred && deepmir evaluate --prediction pred --reference heldout-230 --out eval",
                         **block(RUN / "eval-230-042")},
    "unseen_protocol": {"data": unseen_protocol + " (first echo 20 ms, never in training: 5-15 ms; 0.8 x 0.8 x 2 mm; B0 tilted 10 degrees; "
                                                  "noise x 1.5; GRE bias 0.2)",
                        "command": "deepmir predict --input heldout-930 --out pred-930 && deepmir evaluate --prediction pred-930 "
                                   "--reference heldout-930 --out eval-930",
                        **block(RUN / "eval-930-042")},
    "u_net_alone": {"command": "the same with predict --stages 1 (the U-Net with its own calibrated minimum probabilities)",
                    "nominal_protocol": block(RUN / "eval-230-042s1"), "unseen_protocol": block(RUN / "eval-930-042s1")},
    "targets": "issue 15: CMB sensitivity >= 0.95, precision >= 0.90; iron >= 0.90 / 0.90; <= 0.2 false positives on mimics per "
               "participant; the unseen protocol within 0.05 of the nominal figures",
    "targets_met": False,
}
old = "version 0.4.1 has the same two networks with both stages' minimum probabilities calibrated on 20 full-size simulated participants at the paper's lesion load;"
assert old in bundled["description"]
bundled["description"] = bundled["description"].replace(old, old[:-1] + "; version 0.4.2 has the second stage trained again on 77 participants (24 more, full size at the paper's lesion load, protocol varied) and calibrated the same way;")
stem.with_suffix(".json").write_text(json.dumps(bundled, indent=2) + "\n", encoding="utf-8")

registry = json.loads((dest / "registry.json").read_text())
entry = registry["models"][0]
assert entry["file"] == stem.name + ".json"
entry["version"] = "0.4.2"
entry["trained_on"] = entry["trained_on"] + "; and 24 more for the second stage: deepmir simulate --n 24 --seed 530 --vary-protocol (paper load, full size)"
entry["calibrated_on"] = ("20 simulated participants: deepmir simulate --n 20 --seed 730 (" + SIMULATOR + "): minimum lesion probability CMB "
                          f"{bundled['postprocessing']['min_lesion_probability']['cmb']}, iron {bundled['postprocessing']['min_lesion_probability']['iron']} "
                          f"(the U-Net alone, --stages 1); second stage CMB {second['min_probability']['cmb']}, iron {second['min_probability']['iron']}")
(dest / "registry.json").write_text(json.dumps(registry, indent=2) + "\n", encoding="utf-8")
print("installed", stem.with_suffix(".json"), bundled["version"])
