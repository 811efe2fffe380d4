"""Round 16's selection counts: per participant of each COHORT, the iron TP / FP / FN of
MODEL's iron classifier under each rule of RULES (`suppress` with `suppression_spares`), as
JSON lines in COUNTS; counted as round 15's suppressed.py counts them (the iron classifier's
decisions alone, CandidateFootprint.lesion_centroids). As a check, each rule is also counted
with round 15's `exempt.suppress_sparing` (its own re-implementation), and any participant where
the two differ is printed.

python count.py MODEL COUNTS COHORT [COHORT ...]
"""
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-27-iron-suppression-gap"))
from exempt import suppress_sparing
from suppressed import IRON, iron_classifier, iron_decisions

from DeepMIRLib.candidates import CandidateFootprint, suppress
from DeepMIRLib.secondstage import _canonical_map, _centroids, _counts
from DeepMIRLib.training import find_training_cases

RULES = {"none spared (0.5.1)": None, "spare >= 6 voxels": 6, "spare >= 8 voxels": 8}


def main(model: str, counts_path: str, cohorts: list[str]) -> None:
    loaded, classifier, spec = iron_classifier(model)
    for cohort in cohorts:
        for case in find_training_cases(cohort):
            _, probabilities, candidates, _, kept = iron_decisions(case, loaded, classifier, spec)
            footprint, reference = CandidateFootprint.of(candidates), _centroids(_canonical_map(case.labels))
            iron_only = np.where(kept == IRON, IRON, 0).astype(np.uint8)
            counts = {}
            for name, smallest in RULES.items():
                decisions = suppress(footprint, iron_only, spec.suppression, {"iron": smallest} if smallest else None)
                check = suppress_sparing(footprint, kept, probabilities.sum(axis=0), smallest, False)
                if not np.array_equal(decisions, check):
                    print(f"{case.case_id} {name}: library and exempt.py differ", flush=True)
                counts[name] = _counts(footprint.lesion_centroids(decisions), reference)["iron"]
            with open(counts_path, "a") as out:
                out.write(json.dumps({"participant": case.case_id, "cohort": Path(cohort).name, "iron": counts}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
