# ruff: noqa
# The script as run for this experiment (kept unchanged; paths relative to /tmp/ss15).
import sys, numpy as np, torch
from pathlib import Path
from DeepMIRLib import secondstage as s
from DeepMIRLib.modelfile import load_model
m = load_model("model/deepmir-multiclass-sim-2stage.json")
SUP = {"cmb": 3.0, "iron": 5.0}
rows = []
for p in sorted(Path(sys.argv[1]).glob("*.npz")):
    d = np.load(p)
    c = s.Candidates(d["components"], d["label"], d["centroid"], d["features"])
    rows.append({"participant": p.stem, "argmax": d["argmax"], "calibrated": d["calibrated"], "candidates": c,
                 "scores": s.classify(m.second_stage, d["patches"], d["features"]), "reference": d["reference"]})
print(len(rows), "participants", sum(len(r["candidates"]) for r in rows), "candidates")
print("card thresholds", s.cohort_figures(rows, "second", m.card.second_stage.min_probability, SUP))
ch = s.choose_min_probability(rows, suppression=SUP)
print("re-chosen", ch["min_probability"], s.cohort_figures(rows, "second", ch["min_probability"], SUP))
