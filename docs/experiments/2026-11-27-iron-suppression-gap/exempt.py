"""Round 16's groundwork: iron suppression at 5 voxels that spares the removed candidate where
it looks like a second deposit rather than a piece (README, "Next: a size rule"). Per
participant of each COHORT, the iron classifier's TP / FP / FN under each rule of RULES, as
JSON lines in COUNTS (counted as suppressed.py counts them).

python exempt.py MODEL COUNTS COHORT [COHORT ...]
"""
import json
import sys
from pathlib import Path

import numpy as np
from suppressed import IRON, iron_classifier, iron_decisions, line_minimum

from DeepMIRLib.candidates import CandidateFootprint
from DeepMIRLib.secondstage import _canonical_map, _centroids, _counts
from DeepMIRLib.training import find_training_cases

DISTANCE = 5.0
VALLEY = 0.02
# rule name -> (smallest size in voxels spared, whether the valley must also lie under VALLEY)
RULES = {"none spared (0.5.1)": (None, False), **{f"size >= {n}": (n, False) for n in (4, 6, 8, 12)},
         **{f"size >= {n} and valley < {VALLEY}": (n, True) for n in (4, 8)}}


def suppress_sparing(footprint, kept: np.ndarray, lesion_probability: np.ndarray, smallest: int | None, valley: bool) -> np.ndarray:
    """`candidates.suppress` for iron at DISTANCE, except that a candidate of at least `smallest`
    voxels (and, with `valley`, with the U-Net's lesion probability dipping under VALLEY on the
    line to the nearest larger kept candidate) is kept."""
    decisions = np.where(kept == IRON, IRON, 0).astype(np.uint8)
    survivors = []
    for k in sorted(np.flatnonzero(decisions == IRON), key=lambda k: -footprint.size[k]):
        near = [j for j in survivors if np.linalg.norm(footprint.centroid[k] - footprint.centroid[j]) <= DISTANCE]
        if not near:
            survivors.append(k)
            continue
        j = min(near, key=lambda j: np.linalg.norm(footprint.centroid[k] - footprint.centroid[j]))
        spared = smallest is not None and footprint.size[k] >= smallest and (
            not valley or line_minimum(lesion_probability, footprint.centroid[j], footprint.centroid[k]) < VALLEY)
        if spared:
            survivors.append(k)
        else:
            decisions[k] = 0
    return decisions


def main(model: str, counts_path: str, cohorts: list[str]) -> None:
    loaded, classifier, spec = iron_classifier(model)
    for cohort in cohorts:
        for case in find_training_cases(cohort):
            _, probabilities, candidates, _, kept = iron_decisions(case, loaded, classifier, spec)
            footprint, reference = CandidateFootprint.of(candidates), _centroids(_canonical_map(case.labels))
            lesion_probability = probabilities.sum(axis=0)
            counts = {name: _counts(footprint.lesion_centroids(suppress_sparing(footprint, kept, lesion_probability, *rule)), reference)["iron"]
                      for name, rule in RULES.items()}
            with open(counts_path, "a") as out:
                out.write(json.dumps({"participant": case.case_id, "cohort": Path(cohort).name, "iron": counts}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
