"""Where the default model's two classifiers claim the same voxels (analysis, round 33).

0.5.4's second stage has a microbleed classifier (listed first, decides 'cmb') and an iron
classifier (decides 'iron'); where both keep a lesion, pipeline.combine_stages gives the voxel to
the first listed, so an iron deposit that the microbleed classifier also calls a microbleed is a
microbleed. For each participant folder this runs the U-Net as detection does (one stage, no
minimum probability; secondstage._permissive_unet), then each classifier as detection does
(pipeline._second_stage), and writes one row per pair of overlapping lesions (a microbleed of the
first classifier's map, an iron deposit of the second's): both classifiers' scores (neither,
microbleed, iron) of the candidate under the overlap, the U-Net's label and class probabilities there, sizes, and what the
reference label under the overlap is ('cmb', 'iron' or 'none', by majority).

  python conflicts.py FOLDER [FOLDER ...] > conflicts_<cohort>.tsv
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

from DeepMIRLib.candidates import apply_second_stage, second_stage_proposals
from DeepMIRLib.lesions import remove_lesions
from DeepMIRLib.modelfile import load_model
from DeepMIRLib.secondstage import _canonical_map, _permissive_unet, _training_case, torch_classifier

TRUTH = {0: "none", 1: "cmb", 2: "iron"}


def majority(values: np.ndarray) -> int:
    return int(np.bincount(values.astype(np.int64)).argmax())


def classifier_outcome(loaded, index, stack, labels, probabilities, echo):
    """Classifier `index`'s label map and its candidates' map and scores (neither, cmb, iron),
    as pipeline._second_stage computes them (min_size 1, PyTorch)."""
    spec = loaded.card.second_stages[index]
    proposals = remove_lesions(second_stage_proposals(spec, labels, probabilities, [1, 2], stack, loaded.card.inputs), 1)
    second_stage_labels, (found, scores, _) = apply_second_stage(torch_classifier(loaded.second_stage_network(index)), spec, stack,
                                                                 proposals, probabilities, [1, 2], spec.min_probability_for(echo), echo)
    return second_stage_labels, found.components, np.asarray(scores)


def scores_at(components: np.ndarray, scores: np.ndarray, where: np.ndarray) -> str:
    """The scores (neither, cmb, iron) of the candidate under most of `where`."""
    return ",".join(f"{v:.4f}" for v in scores[majority(components[where]) - 1])


def participant_rows(folder: Path, loaded) -> list[str]:
    case = _training_case(folder)
    stack, labels, probabilities = _permissive_unet(case, loaded, {})
    echo = case.inputs.echo_time()
    (cmb_map, cmb_found, cmb_scores), (iron_map, iron_found, iron_scores) = (
        classifier_outcome(loaded, i, stack, labels, probabilities, echo) for i in range(2))
    reference = _canonical_map(case.labels)
    cmb_components, _ = ndimage.label(cmb_map == 1)
    iron_components, _ = ndimage.label(iron_map == 2)
    rows = []
    pairs = sorted({(int(a), int(b)) for a, b in zip(cmb_components.ravel(), iron_components.ravel()) if a and b})
    for a, b in pairs:
        overlap = (cmb_components == a) & (iron_components == b)
        rows.append("\t".join(str(v) for v in (
            case.case_id, a, b, int((cmb_components == a).sum()), int((iron_components == b).sum()), int(overlap.sum()),
            scores_at(cmb_found, cmb_scores, overlap), scores_at(iron_found, iron_scores, overlap), majority(labels[overlap]),
            f"{probabilities[0][overlap].max():.3f}", f"{probabilities[1][overlap].max():.3f}",
            TRUTH[majority(reference[overlap])], echo)))
    return rows


def print_table(header: str, participant_rows, folders: list[str]) -> None:
    """Print `header`, then the rows of every participant folder under `folders` (the default model's)."""
    loaded = load_model("default")
    print(header)
    for root in folders:
        for folder in sorted(p for p in Path(root).iterdir() if p.is_dir()):
            for row in participant_rows(folder, loaded):
                print(row, flush=True)


if __name__ == "__main__":
    print_table("participant\tcmb_lesion\tiron_lesion\tcmb_voxels\tiron_voxels\toverlap\tcmb_classifier_scores\t"
                "iron_classifier_scores\tunet_label\tunet_p_cmb_max\tunet_p_iron_max\ttruth\techo_ms", participant_rows, sys.argv[1:])
