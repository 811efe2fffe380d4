"""The iron deposits the default model's microbleed classifier keeps and its iron classifier does not (analysis, round 33).

0.5.4's microbleed classifier also scores iron (its card's iron minimum 0.9), but decides
microbleeds only. For each participant folder, for every candidate the microbleed classifier
labels iron where the iron classifier's map has no iron: its iron probability, the iron
classifier's candidate overlapping it most (its iron probability and label), its size, and its
truth: 'iron' if it overlaps a reference iron deposit, 'cmb' if a microbleed, else 'none' (with
the mimic under it, if any).

  python extra_iron.py FOLDER [FOLDER ...] > extra_iron_<cohort>.tsv
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from conflicts import classifier_outcome, print_table

from DeepMIRLib.secondstage import _canonical_map, _permissive_unet, _training_case

MIMICS = {1: "vein", 2: "calcification", 3: "perivascular space"}


def truth_of(where: np.ndarray, reference: np.ndarray, mimics: np.ndarray | None) -> str:
    under = reference[where]
    if (under == 2).any():
        return "iron"
    if (under == 1).any():
        return "cmb"
    if mimics is not None and mimics[where].any():
        return "none:" + MIMICS.get(int(np.bincount(mimics[where][mimics[where] > 0]).argmax()), "other")
    return "none"


def participant_rows(folder: Path, loaded) -> list[str]:
    case = _training_case(folder)
    stack, labels, probabilities = _permissive_unet(case, loaded, {})
    echo = case.inputs.echo_time()
    (cmb_map, cmb_found, cmb_scores), (iron_map, iron_found, iron_scores) = (
        classifier_outcome(loaded, i, stack, labels, probabilities, echo) for i in range(2))
    reference, mimics = _canonical_map(case.labels), _canonical_map(case.mimics)
    rows = []
    for k in range(1, int(cmb_found.max()) + 1):
        where = cmb_found == k
        if not (cmb_map[where] == 2).any() or (iron_map[where] == 2).any():
            continue
        under = iron_found[where]
        if under.any():
            j = int(np.bincount(under[under > 0]).argmax())
            iron_side = f"{iron_scores[j - 1][2]:.3f}\t{int(np.bincount(iron_map[iron_found == j]).argmax())}"
        else:
            iron_side = "-\t-"
        rows.append("\t".join([case.case_id, str(k), str(int(where.sum())), f"{cmb_scores[k - 1][2]:.3f}", iron_side,
                               truth_of(where, reference, mimics)]))
    return rows


if __name__ == "__main__":
    print_table("participant\tcandidate\tvoxels\tcmb_classifier_p_iron\tiron_classifier_p_iron\tiron_classifier_label\ttruth",
                participant_rows, sys.argv[1:])
