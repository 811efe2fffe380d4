# ruff: noqa
"""What becomes of each reference microbleed and iron deposit of a cohort in the two-stage
model, and what its false lesions lie on: `python misses.py COHORT [MODEL]` (COHORT: simulated
participants; MODEL: default). Adapted from 2026-11-26-paper-load-calibration/ironmiss.py.

Per lesion: found by the U-Net's arg-max (a component of its class within the tolerance, 3
voxels for microbleeds, 5 for deposits), and in the second stage either kept, called the other
class, kept with its centroid off, rejected, or never proposed (no candidate overlapping it or
within the tolerance)."""

import sys
from collections import Counter
from pathlib import Path

import numpy as np
from scipy import ndimage

from DeepMIRLib.candidates import decide, suppress
from DeepMIRLib.lesions import label_components
from DeepMIRLib.modelfile import load_model
from DeepMIRLib.secondstage import _canonical_map, score_cohort
from DeepMIRLib.training import find_training_cases

TOLERANCES = {1: 3.0, 2: 5.0}


def centroids(mask):
    labelled, n = label_components(mask)
    if not n:
        return np.zeros((0, 3)), labelled, n
    return np.array(ndimage.center_of_mass(np.ones(mask.shape), labelled, range(1, n + 1))).reshape(-1, 3), labelled, n


def main(cohort, model_name="default"):
    model = load_model(model_name)
    spec = model.card.second_stage
    cases = find_training_cases(Path(cohort))
    rows = score_cohort(cases, model, model.second_stage, spec)
    fates = Counter()
    for row, case in zip(rows, cases):
        reference_map = _canonical_map(case.labels)
        mimics = _canonical_map(case.mimics)
        candidates, scores = row["candidates"], row["scores"]
        decisions = suppress(candidates, decide(scores, spec.min_probability), spec.suppression)
        for cls in (1, 2):
            TOLERANCE = TOLERANCES[cls]
            name = {1: "microbleed", 2: "iron"}[cls]
            reference_centroids, labelled, n = centroids(reference_map == cls)
            argmax_centroids = centroids(row["argmax"] == cls)[0]
            for k in range(n):
                centre = reference_centroids[k]
                size = int((labelled == k + 1).sum())
                unet = bool(len(argmax_centroids) and np.linalg.norm(argmax_centroids - centre, axis=1).min() <= TOLERANCE)
                overlapping = set(np.unique(candidates.components[labelled == k + 1])) - {0}
                near = {j + 1 for j in range(len(candidates)) if np.linalg.norm(candidates.centroid[j] - centre) <= TOLERANCE}
                involved = sorted(overlapping | near)
                if any(decisions[j - 1] == cls and np.linalg.norm(candidates.centroid[j - 1] - centre) <= TOLERANCE for j in involved):
                    fate = "kept"
                elif not involved:
                    fate = "never proposed"
                elif any(decisions[j - 1] == 3 - cls for j in involved):
                    fate = "called the other class"
                elif any(decisions[j - 1] == cls for j in involved):
                    fate = "kept, centroid off"
                else:
                    fate = "rejected"
                fates[(name, fate, unet)] += 1
                if fate != "kept":
                    detail = "; ".join(
                        f"candidate {j}: {int(candidates.features[j - 1, 0])} voxels, U-Net {int(candidates.label[j - 1])}, "
                        f"scores neither/cmb/iron {scores[j - 1, 0]:.2f}/{scores[j - 1, 1]:.2f}/{scores[j - 1, 2]:.2f}, "
                        f"decision {int(decisions[j - 1])}, {np.linalg.norm(candidates.centroid[j - 1] - centre):.1f} voxels away"
                        for j in involved)
                    print(f"{row['participant']} {name} {k + 1} ({size} voxels, U-Net arg-max {'found' if unet else 'missed'}): {fate}. {detail}")
            ref_all = centroids(reference_map == cls)[0]
            for j in range(len(candidates)):
                if decisions[j] != cls:
                    continue
                c = candidates.centroid[j]
                if len(ref_all) and np.linalg.norm(ref_all - c, axis=1).min() <= TOLERANCE:
                    continue
                ijk = tuple(int(round(v)) for v in c)
                box = tuple(slice(max(v - 2, 0), v + 3) for v in ijk)
                causes = sorted({int(v) for v in np.unique(mimics[box])} - {0}) if mimics is not None else []
                other = sorted({int(v) for v in np.unique(reference_map[box])} - {0})
                fates[(name, "false positive", str(causes or other or "nothing"))] += 1
                print(f"{row['participant']} false {name}: candidate {j + 1}, {int(candidates.features[j, 0])} voxels, "
                      f"scores {scores[j, 0]:.2f}/{scores[j, 1]:.2f}/{scores[j, 2]:.2f}, mimics {causes}, reference labels {other}")
    print("fate, found by the U-Net's arg-max -> deposits")
    for (name, fate, unet), count in sorted(fates.items()):
        print(f"  {name}: {fate}, {unet}: {count}")


if __name__ == "__main__":
    main(*sys.argv[1:])
