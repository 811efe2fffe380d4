# ruff: noqa
# The script as run for this experiment (kept unchanged; paths relative to /tmp/ss15).
import sys, json, copy, collections, torch, numpy as np
from pathlib import Path
torch.set_num_threads(2)
from DeepMIRLib import secondstage as s
from DeepMIRLib.modelfile import load_model, save_model
epochs, width, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
sets = [s.CandidateSet.load(p) for d in (sys.argv[5] if len(sys.argv) > 5 else "cands").split(",") for p in sorted(Path(d).glob("*.npz"))]
train = s.CandidateSet(np.concatenate([c.patches for c in sets]), np.concatenate([c.features for c in sets]),
                       np.concatenate([c.targets for c in sets]), sum([c.causes for c in sets], []), sum([c.participants for c in sets], []),
                       np.concatenate([c.unet_label for c in sets]))
counts = dict(collections.Counter(train.causes))
print("train", len(sets), "participants", len(train.targets), counts, flush=True)
network = s.train_classifier(train, width, epochs, seed=seed, log=None, patch=s.DEFAULT_PATCH)
rows = []
for p in sorted(Path("calcands").glob("*.npz")):
    d = np.load(p)
    c = s.Candidates(d["components"], d["label"], d["centroid"], d["features"])
    rows.append({"participant": p.stem, "argmax": d["argmax"], "calibrated": d["calibrated"], "candidates": c,
                 "scores": s.classify(network, d["patches"], d["features"]), "reference": d["reference"]})
SUP = {"cmb": 3.0, "iron": 5.0}
choice = s.choose_min_probability(rows, suppression=SUP)
nosup = s.choose_min_probability(rows)
print(" two stages without suppression", nosup["min_probability"], s.cohort_figures(rows, "second", nosup["min_probability"]))
base = {w: s.cohort_figures(rows, w) for w in ("argmax", "calibrated")}
two = s.cohort_figures(rows, "second", choice["min_probability"], SUP)
print("calibration", len(rows), "participants")
print(" unet calibrated", base["calibrated"]); print(" unet argmax", base["argmax"]); print(" two stages", choice["min_probability"], two, flush=True)
if out != "-":
    loaded = load_model("default")
    card = copy.deepcopy(loaded.card)
    card.version = "0.4.0"
    card.created = ""
    trained_on = sorted(set(train.participants))
    names = ", ".join(trained_on)
    card.second_stage = s.SecondStageSpec("cnn3d", width, len(card.inputs) + 1, s.DEFAULT_PATCH, min_probability=choice["min_probability"], suppression=SUP,
        training={"data": f"candidates of the 0.3.0 U-Net (the arg-max's components and those where the lesion probabilities sum to >= 0.02; patches of 13 x 28 x 28 cropped at random to 9 x 20 x 20) in {len(trained_on)} simulated "
                          f"slab participants: deepmir simulate --load dense --slab 32 with --n 11 --seed 700 and --n 10 --seed 701 ({names})",
                  "candidates": counts, "epochs": epochs, "width": width, "seed": seed, "loss": "class-weighted cross-entropy, Adam 1e-3, cosine",
                  "augmentation": "left-right and front-back flips, in-plane 90-degree turns"},
        calibration={"data": f"{len(rows)} simulated slab participants: deepmir simulate --n 10 --seed 710 --load dense --slab 32 "
                             f"({rows[0]['participant']}..{rows[-1]['participant']}); candidates: the U-Net's arg-max components",
                     "rule": "per class, the lowest minimum probability with the highest F1 (pooled, centroid tolerances 3 and 5 voxels), with suppression of pieces within 3 (CMB) and 5 (iron) voxels of a larger kept one",
                     "figures": {"unet_calibrated": base["calibrated"], "unet_argmax": base["argmax"], "two_stages": two},
                     "tables": choice["tables"]})
    print(save_model(loaded.network, card, out, second_stage=network))
