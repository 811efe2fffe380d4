"""Which iron candidates the second stage's suppression removes, and whether each was a piece
of a deposit already kept (suppression right) or a second deposit (suppression wrong).

For each participant of each COHORT: the U-Net alone (arg-max, no minimum), the iron
classifier's candidates (the card's second section: proposals, extrema, scores, `decide` and
`keep_unet_lesions`), then `suppress` as the card does. For every kept iron candidate it
removes, against the larger kept candidate within the suppression distance: the centroid
distance, the gap (the shortest distance between their voxels), the lowest U-Net lesion
probability (cmb + iron) and the lowest QSM (normalised) on the straight line between their
centroids, and the verdict: 'pair' where keeping it as well matches one more reference iron
deposit (optimal matching, 5 voxels), else 'piece'.

Per participant, also the iron TP / FP / FN of that classifier's iron decisions with the iron
suppression distance at each of DISTANCES (CandidateFootprint.lesion_centroids, as the
calibration counts them; the microbleed classifier's lesions, which take precedence over
these where they overlap in `combine_stages`, are left out), as JSON lines in COUNTS.

python suppressed.py MODEL COUNTS COHORT [COHORT ...] > suppressed.txt   (MODEL: default, or a card)
"""
import json
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

from DeepMIRLib.candidates import CandidateFootprint, classify, decide, extract_candidates, keep_unet_lesions, patches_for, second_stage_proposals, suppress
from DeepMIRLib.metrics import match_lesions
from DeepMIRLib.modelfile import load_model
from DeepMIRLib.pipeline import _second_stage_classifier
from DeepMIRLib.secondstage import _canonical_map, _centroids, _counts, _permissive_unet
from DeepMIRLib.training import find_training_cases

IRON = 2
TOLERANCE = 5.0
DISTANCES = (0.0, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0)


def line_minimum(volume: np.ndarray, start: np.ndarray, end: np.ndarray, samples: int = 21) -> float:
    points = np.linspace(start, end, samples).T
    return float(ndimage.map_coordinates(volume, points, order=1).min())


def counts_by_distance(candidates, kept: np.ndarray, reference: dict, spec) -> dict:
    footprint = CandidateFootprint.of(candidates)
    iron_only = np.where(kept == IRON, IRON, 0).astype(np.uint8)
    return {str(d): _counts(footprint.lesion_centroids(suppress(footprint, iron_only, {**spec.suppression, "iron": d})), reference)["iron"]
            for d in DISTANCES}


def iron_decisions(case, loaded, classifier, spec) -> tuple:
    """The U-Net's stack and probabilities on `case`, the iron classifier's candidates, scores
    and decisions before suppression (`decide`, `keep_unet_lesions`)."""
    stack, labels, probabilities = _permissive_unet(case, loaded, {})
    class_labels = [c.label for c in loaded.card.lesion_classes]
    proposals = second_stage_proposals(spec, labels, probabilities, class_labels, stack, loaded.card.inputs)
    candidates = extract_candidates(proposals, probabilities, class_labels)
    scores = classify(classifier, patches_for(stack, candidates, spec.patch), candidates.features)
    kept = keep_unet_lesions(candidates, scores, decide(scores, spec.min_probability), spec.keep_unet, spec.decided_keys())
    return stack, probabilities, candidates, scores, kept


def iron_classifier(model: str) -> tuple:
    """The loaded model, its iron classifier and that classifier's card section."""
    loaded = load_model(model)
    index = next(i for i, s in enumerate(loaded.card.second_stages) if "iron" in s.decided_keys())
    return loaded, _second_stage_classifier(loaded, index, "cpu", "auto"), loaded.card.second_stages[index]


def events(case, loaded, classifier, spec) -> tuple[list[dict], dict]:
    stack, probabilities, candidates, scores, kept = iron_decisions(case, loaded, classifier, spec)
    after = suppress(candidates, kept, spec.suppression)
    references = _centroids(_canonical_map(case.labels))
    reference = references[IRON]
    survivors = np.flatnonzero(after == IRON)
    matched = len(match_lesions(candidates.centroid[survivors], reference, TOLERANCE))
    lesion_probability = probabilities.sum(axis=0)
    qsm = stack[loaded.card.inputs.index("qsm")]
    rows = []
    for k in np.flatnonzero((kept == IRON) & (after != IRON)):
        distances = np.linalg.norm(candidates.centroid[survivors] - candidates.centroid[k], axis=1)
        j = survivors[np.argmin(distances)]
        gap = ndimage.distance_transform_edt(candidates.components != j + 1)[candidates.components == k + 1].min()
        with_k = len(match_lesions(candidates.centroid[np.append(survivors, k)], reference, TOLERANCE))
        rows.append({"participant": case.case_id, "distance": float(distances.min()), "gap": float(gap),
                     "size": int((candidates.components == k + 1).sum()), "larger": int((candidates.components == j + 1).sum()),
                     "p_valley": line_minimum(lesion_probability, candidates.centroid[j], candidates.centroid[k]),
                     "qsm_valley": line_minimum(qsm, candidates.centroid[j], candidates.centroid[k]),
                     "iron_score": float(scores[k, IRON]), "verdict": "pair" if with_k > matched else "piece"})
    return rows, counts_by_distance(candidates, kept, references, spec)


def main(model: str, counts_path: str, cohorts: list[str]) -> None:
    loaded, classifier, spec = iron_classifier(model)
    print("participant distance gap size larger p_valley qsm_valley iron_score verdict")
    for cohort in cohorts:
        for case in find_training_cases(cohort):
            rows, counts = events(case, loaded, classifier, spec)
            for row in rows:
                print(" ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()), flush=True)
            with open(counts_path, "a") as out:
                out.write(json.dumps({"participant": case.case_id, "cohort": Path(cohort).name, "iron": counts}) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
