"""What each of the default model's classifiers says of every reference iron deposit (analysis, round 33).

For each participant folder: the U-Net as detection runs it (secondstage._permissive_unet), each
classifier on its candidates as detection runs it (conflicts.classifier_outcome), and per
reference iron deposit (26-connected component of label 2) the candidate of each classifier that
overlaps it most: its scores (neither, cmb, iron) and the label the classifier gave it (0 removed,
1 microbleed, 2 iron), and the label of 0.5.4's combined map under most of the deposit.

  python iron_candidates.py FOLDER [FOLDER ...] > iron_candidates_<cohort>.tsv
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from conflicts import classifier_outcome, majority, print_table

from DeepMIRLib.lesions import label_components
from DeepMIRLib.pipeline import combine_stages, decided_labels
from DeepMIRLib.secondstage import _canonical_map, _permissive_unet, _training_case


def candidate_at(components: np.ndarray, scores: np.ndarray, labels: np.ndarray, where: np.ndarray) -> str:
    """The scores and label of the candidate overlapping `where` most; '-' without one."""
    under = components[where]
    if not under.any():
        return "-\t-"
    k = int(np.bincount(under[under > 0]).argmax())
    label = majority(labels[components == k])
    return ",".join(f"{v:.3f}" for v in scores[k - 1]) + f"\t{label}"


def participant_rows(folder: Path, loaded) -> list[str]:
    case = _training_case(folder)
    stack, labels, probabilities = _permissive_unet(case, loaded, {})
    echo = case.inputs.echo_time()
    outcomes = [classifier_outcome(loaded, i, stack, labels, probabilities, echo) for i in range(2)]
    combined = combine_stages(labels, [(out[0], decided_labels(loaded.card, spec)) for out, spec in zip(outcomes, loaded.card.second_stages)])
    reference = _canonical_map(case.labels)
    deposits, count = label_components(reference == 2)
    rows = []
    for k in range(1, count + 1):
        where = deposits == k
        rows.append("\t".join([case.case_id, str(k), str(int(where.sum())), f"{probabilities[1][where].max():.3f}",
                               *(candidate_at(found, scores, map_, where) for map_, found, scores in outcomes),
                               str(majority(combined[where]))]))
    return rows


if __name__ == "__main__":
    print_table("participant\tdeposit\tvoxels\tunet_p_iron_max\tcmb_classifier_scores\tcmb_classifier_label\t"
                "iron_classifier_scores\tiron_classifier_label\tcombined_label", participant_rows, sys.argv[1:])
