"""What lies under every false-positive microbleed (a predicted CMB left unmatched) of a
prediction folder, matched exactly as `deepmir evaluate` does (through
../2026-11-27-protocol-a-iron/iron_errors.participants). Each gets one cause, the first that
applies, looking at the component grown by one voxel (26-neighbourhood):
"CMB piece" (touches a reference microbleed that another prediction matched), "CMB
off-centre" (touches a reference microbleed left unmatched), "iron as CMB" (touches a
reference iron deposit), "mimic: <kind>", else "nothing". Probabilities: the second stage's
(lesions.tsv's second_stage_prob) and the U-Net's highest microbleed probability.

python fp_microbleeds.py A-1180:/tmp/s25/heldout-1180:/tmp/s25/pred-1180 nominal-470:/tmp/s25/heldout-470:/tmp/s25/pred-470
"""
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "2026-11-27-protocol-a-iron"))
from iron_errors import false_positive_cause, nearest_object, participants, table

from DeepMIRLib.classes import CMB, IRON, TOLERANCE_VOXELS
from DeepMIRLib.lesions import read_lesions
from DeepMIRLib.metrics import class_components, match_lesions
from DeepMIRLib.volumes import find_image, read_volume


def false_microbleeds(cohort: str, reference_folder: Path, prediction_folder: Path) -> list[list[str]]:
    rows = []
    for folder, manifest, reference, prediction, mimics, results in participants(reference_folder, prediction_folder):
        cmb = results[CMB]
        if not cmb.fp:
            continue
        pred_cmb, pred_cmb_c = class_components(prediction, CMB)
        ref_cmb, ref_cmb_c = class_components(reference, CMB)
        matched_ref = {r for _, r, _ in match_lesions(pred_cmb_c, ref_cmb_c, TOLERANCE_VOXELS[CMB])}
        second_stage = {tuple(np.round(lesion.centroid_index, 3)): lesion.second_stage_prob
                        for lesion in read_lesions(prediction_folder / folder.name / "lesions.tsv") if lesion.label == CMB}
        prob_cmb = read_volume(find_image(prediction_folder / folder.name, "prob_cmb")).array
        chi = read_volume(find_image(folder, "chi")).array
        for p in cmb.unmatched:
            voxels = pred_cmb == p + 1
            cause = false_positive_cause(voxels, ref_cmb, matched_ref, "CMB", reference, IRON, "iron as CMB", mimics, "nothing")
            rows.append([cohort, folder.name, str(p + 1), cause, str(int(voxels.sum())),
                         f"{second_stage[tuple(np.round(pred_cmb_c[p], 3))]:.3f}", f"{prob_cmb[voxels].max():.3f}",
                         f"{np.median(chi[voxels]):.3f}", nearest_object(manifest, reference.index_to_lps(pred_cmb_c[p]))])
    return rows


rows = []
for argument in sys.argv[1:]:
    cohort, reference_folder, prediction_folder = argument.split(":")
    rows += false_microbleeds(cohort, Path(reference_folder), Path(prediction_folder))
print("FALSE-POSITIVE MICROBLEEDS. chi: median true susceptibility (ppm) of its voxels")
print(table(["cohort", "participant", "comp", "cause", "voxels", "second_stage_prob", "p_cmb_max", "chi", "nearest_manifest_object"], rows))
print("\nBY CAUSE")
for cohort in dict.fromkeys(r[0] for r in rows):
    print(f"{cohort}: {sum(r[0] == cohort for r in rows)}", dict(sorted(Counter(r[3] for r in rows if r[0] == cohort).items())))
