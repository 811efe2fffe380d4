"""Score every second-stage candidate of the default model on simulated cohorts (analysis).

For each participant folder of each cohort: the U-Net once (`secondstage._permissive_unet`,
as `deepmir calibrate` runs it), then, for each of the card's second-stage classifiers, the
rows that calibration counts with (`secondstage.score_case`: candidate footprints and
scores) and a table of every candidate: its classifier's probabilities, its size, the U-Net
label and its truth and cause (`secondstage.candidate_truth`: 'cmb', 'iron', or 'neither'
with the mimic it overlaps most: 'vein', 'calcification', 'perivascular space', 'none').

Writes OUT/<cohort>.pkl: {"rows": [per classifier: calibration rows], "candidates": [dicts]}.

  python score.py OUT NAME:FOLDER [NAME:FOLDER ...]
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from tqdm import tqdm

from DeepMIRLib.candidates import extract_candidates, second_stage_proposals
from DeepMIRLib.modelfile import load_model
from DeepMIRLib.secondstage import (
    SECOND_STAGE_CLASSES,
    _canonical_map,
    _permissive_unet,
    _training_case,
    candidate_truth,
    score_case,
    score_unet,
)


def candidate_table(case, unet, loaded, spec, index, scores) -> list[dict]:
    """The table rows of classifier `index`'s candidates; `scores` are its probabilities from
    `score_case`, whose candidates these are, in the same order (only their map is needed here)."""
    stack, labels, probabilities = unet
    class_labels = [c.label for c in loaded.card.lesion_classes]
    candidates = extract_candidates(second_stage_proposals(spec, labels, probabilities, class_labels, stack, loaded.card.inputs),
                                    probabilities, class_labels)
    targets, causes = candidate_truth(candidates, _canonical_map(case.labels), _canonical_map(case.mimics))
    sizes = [int((candidates.components == i + 1).sum()) for i in range(len(candidates))]
    return [{"participant": case.case_id, "classifier": index, "unet_label": int(candidates.label[i]), "voxels": sizes[i],
             "z_extent": float(candidates.features[i][1]), "target": SECOND_STAGE_CLASSES[targets[i]], "cause": causes[i],
             **{f"p_{name}": float(scores[i][k]) for k, name in enumerate(SECOND_STAGE_CLASSES)}}
            for i in range(len(candidates))]


def main(out: Path, cohorts: list[str]) -> None:
    loaded = load_model("default")
    specs = loaded.card.second_stages
    out.mkdir(parents=True, exist_ok=True)
    for item in cohorts:
        name, folder = item.split(":", 1)
        rows, table = [[] for _ in specs], []
        folders = sorted(p for p in Path(folder).iterdir() if p.is_dir())
        for participant in tqdm(folders, desc=name):
            case = _training_case(participant)
            unet = _permissive_unet(case, loaded, {})
            unet_row = score_unet(case, unet, loaded)
            for index, spec in enumerate(specs):
                rows[index].append(score_case(case, unet, loaded, loaded.second_stage_network(index), spec, unet_row))
                table += candidate_table(case, unet, loaded, spec, index, rows[index][-1]["scores"])
        with open(out / f"{name}.pkl.part", "wb") as f:
            pickle.dump({"rows": rows, "candidates": table}, f)
        (out / f"{name}.pkl.part").replace(out / f"{name}.pkl")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
