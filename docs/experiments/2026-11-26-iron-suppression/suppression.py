"""Iron suppression distances for 0.4.2's second stage: minimum probabilities chosen on the
calibration cohort for each, then scored on the selection cohort.
python suppression.py CALIBRATION SELECTION OUT.json"""
import json
import sys
from pathlib import Path

from DeepMIRLib.modelfile import load_model
from DeepMIRLib.secondstage import choose_min_probability, cohort_figures, score_cohort
from DeepMIRLib.training import find_training_cases

DISTANCES = (0.0, 2.0, 3.0, 4.0, 5.0)
loaded = load_model("default")
spec = loaded.card.second_stage
calibration = score_cohort(find_training_cases(Path(sys.argv[1])), loaded, loaded.second_stage, spec)
selection = score_cohort(find_training_cases(Path(sys.argv[2])), loaded, loaded.second_stage, spec)
results = []
for distance in DISTANCES:
    suppression = {"cmb": spec.suppression["cmb"], "iron": distance}
    chosen = choose_min_probability(calibration, suppression=suppression)["min_probability"]
    figures = cohort_figures(selection, "second", chosen, suppression)
    results.append({"iron_suppression": distance, "min_probability": chosen, "selection": figures})
    print(distance, chosen, {k: (v["tp"], v["fp"], v["fn"], v["f1"]) for k, v in figures.items()}, flush=True)
Path(sys.argv[3]).write_text(json.dumps(results, indent=1))
