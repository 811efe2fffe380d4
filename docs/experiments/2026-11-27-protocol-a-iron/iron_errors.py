"""What lies under every false-positive and every missed iron deposit of a prediction folder.

For each cohort (reference folder of simulated participants, prediction folder of
`deepmir predict`) every participant is matched exactly as `deepmir evaluate` does
(evaluation.read_reference, metrics.evaluate_participant / class_components /
match_lesions: voxel units, tolerance 3 voxels CMB, 5 iron). Then:

- each unmatched predicted iron deposit (FP) gets one cause, first that applies, looking at
  the component grown by one voxel (26-neighbourhood):
  "iron piece" (touches a reference deposit that another prediction matched),
  "iron off-centre" (touches a reference deposit left unmatched: centroid beyond tolerance),
  "CMB as iron" (touches a reference microbleed), "mimic: <kind>" (touches a mimic),
  else "background: <nucleus>" (the deep nucleus under most of its voxels, from the
  participant's anatomy rebuilt from its seed; "none" outside the nuclei);
- each unmatched reference iron deposit (FN) gets what the prediction has on it (grown by
  one voxel): "predicted iron off-centre", "predicted as CMB", or "nothing"; and whether
  another reference deposit lies within 5 voxels (a pair, which the second stage's
  suppression reduces to one).
Probabilities are the U-Net's (prob_iron / prob_cmb of the prediction folder).

Command used (from /work/main, one process, niced):
  nice -n 19 .venv/bin/python docs/experiments/2026-11-27-protocol-a-iron/iron_errors.py \
    A-1110:/tmp/s22/heldout-1110:/tmp/s22/pred-1110-m051 A-1080:/tmp/s20/heldout-1080:/tmp/s20/pred-1080-m051 \
    nominal-390:/tmp/s20/heldout-390:/tmp/s20/pred-390-m051 nominal-430:/tmp/s22/heldout-430:/tmp/s22/pred-430-m051 \
    > docs/experiments/2026-11-27-protocol-a-iron/iron_errors.txt
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from DeepMIRLib.classes import CMB, IRON, TOLERANCE_VOXELS
from DeepMIRLib.evaluation import MIMIC_NAMES, read_reference
from DeepMIRLib.metrics import class_components, evaluate_participant, match_lesions
from DeepMIRLib.simulation.anatomy import NUCLEUS_LABELS, mni_template, participant_transform
from DeepMIRLib.simulation.phantom import NUCLEUS_TISSUE
from DeepMIRLib.volumes import find_image, read_labels, read_volume

NUCLEUS_NAMES = {0: "none", **{v: k for k, v in NUCLEUS_LABELS.items()}}
GROW = np.ones((3, 3, 3), bool)


def nuclei_map(manifest: dict, grid) -> np.ndarray:
    """The participant's deep-nucleus labels on `grid`, drawn again from its seed in the
    order simulate_participant draws them (age, nucleus susceptibilities, transform);
    checked against the age and pallidal susceptibility that its manifest records."""
    rng = np.random.default_rng([int(s) for s in str(manifest["seed"]).split("-")])
    age = float(rng.uniform(0, 1))
    noise = [rng.normal(0, 0.2) for v in NUCLEUS_TISSUE.values() if isinstance(v["chi"], tuple)]
    low, high = NUCLEUS_TISSUE["globus_pallidus"]["chi"]
    assert round(age, 3) == manifest["age_factor"], "seed does not reproduce the age"
    assert round(low + (high - low) * float(np.clip(age + noise[0], 0, 1)), 3) == manifest["globus_pallidus_ppm"]
    transform = participant_transform(rng)
    nuclei = sitk.Resample(mni_template()["nuclei"], grid.to_image(), transform, sitk.sitkNearestNeighbor, 0.0)
    return sitk.GetArrayFromImage(nuclei).astype(np.uint8)


def nearest_object(manifest: dict, point_lps: np.ndarray) -> str:
    """Kind, location and distance (mm) of the manifest object whose centre is nearest."""
    objects = manifest["objects"]
    distance = [float(np.linalg.norm(np.asarray(o["centre_lps_mm"]) - point_lps)) for o in objects]
    o = objects[int(np.argmin(distance))]
    return f"{o['kind']}/{o.get('location', '-')}@{min(distance):.1f}mm"


def nearest(point: np.ndarray, centroids: np.ndarray, spacing: np.ndarray) -> str:
    """Distance to the nearest of `centroids` (voxel index x, y, z): voxels and mm."""
    if len(centroids) == 0:
        return "-"
    offset = centroids - point
    k = int(np.argmin(np.linalg.norm(offset, axis=1)))
    return f"{np.linalg.norm(offset[k]):.2f}v/{np.linalg.norm(offset[k] * spacing):.1f}mm"


class Participant(NamedTuple):
    folder: Path
    manifest: dict
    reference: object  # Volume, label values 0, 1, 2
    prediction: object
    mimics: object
    results: dict  # label -> ClassResult, as deepmir evaluate counts them


def participants(reference_folder: Path, prediction_folder: Path):
    """Each participant of a cohort read and matched exactly as `deepmir evaluate` does
    (also imported by ../2026-11-27-protocol-a-microbleeds/cmb_misses.py)."""
    for folder in sorted(p for p in reference_folder.iterdir() if p.is_dir()):
        reference = read_reference(find_image(folder, "labels"), "multiclass")
        prediction = read_reference(find_image(prediction_folder / folder.name, "labels"), "multiclass")
        mimics = read_labels(find_image(folder, "mimics"), (0, *sorted(MIMIC_NAMES)))
        results = evaluate_participant(prediction, reference, (CMB, IRON), mimics=mimics, mimic_names=MIMIC_NAMES)
        yield Participant(folder, json.loads((folder / "manifest.json").read_text()), reference, prediction, mimics, results)


def false_positive_cause(voxels: np.ndarray, references: np.ndarray, matched_ref: set, own: str, reference, other_label: int,
                         other: str, mimics, otherwise: str) -> str:
    """The cause of a false positive (its component `voxels`), the first that applies, looking
    at the component grown by one voxel: "<own> piece" (touches a reference lesion of its class,
    `references` numbered 1..n, that another prediction matched: `matched_ref`, 0-based),
    "<own> off-centre" (touches one left unmatched), `other` (touches a reference lesion of
    `other_label`), "mimic: <kind>" (touches a mimic), else `otherwise`. Also used by
    ../2026-11-27-protocol-a-heldout/fp_microbleeds.py."""
    around = ndimage.binary_dilation(voxels, GROW)
    touched = set(np.unique(references[around])) - {0}
    touched_mimic = np.bincount(mimics.array[around & (mimics.array > 0)], minlength=4)
    if touched:
        return f"{own} piece" if touched & {r + 1 for r in matched_ref} else f"{own} off-centre"
    if (reference.array[around] == other_label).any():
        return other
    if touched_mimic.any():
        return f"mimic: {MIMIC_NAMES[int(touched_mimic.argmax())]}"
    return otherwise


def analyse(cohort: str, reference_folder: Path, prediction_folder: Path, fps: list, fns: list, scores: list) -> None:
    for folder, manifest, reference, prediction, mimics, results in participants(reference_folder, prediction_folder):
        name = folder.name
        iron = results[IRON]
        scores.append((cohort, iron))
        if iron.fp == 0 and iron.fn == 0:
            continue
        spacing = np.asarray(reference.spacing)
        pred_iron, pred_iron_c = class_components(prediction, IRON)
        pred_cmb = prediction.array == CMB
        ref_iron, ref_iron_c = class_components(reference, IRON)
        ref_cmb_c = class_components(reference, CMB)[1]
        matches = match_lesions(pred_iron_c, ref_iron_c, TOLERANCE_VOXELS[IRON])
        matched_ref = {r for _, r, _ in matches}
        prob_iron = read_volume(find_image(prediction_folder / name, "prob_iron")).array
        prob_cmb = read_volume(find_image(prediction_folder / name, "prob_cmb")).array
        chi = read_volume(find_image(folder, "chi")).array
        gap_to_iron = ndimage.distance_transform_edt(ref_iron == 0) if len(ref_iron_c) else None
        nuclei = nuclei_map(manifest, reference) if iron.fp else None
        for p in iron.unmatched:
            voxels = pred_iron == p + 1
            nucleus = NUCLEUS_NAMES[int(np.bincount(nuclei[voxels]).argmax())]
            cause = false_positive_cause(voxels, ref_iron, matched_ref, "iron", reference, CMB, "CMB as iron", mimics,
                                         f"background: {nucleus}")
            point = pred_iron_c[p]
            gap = f"{gap_to_iron[voxels].min():.1f}v" if gap_to_iron is not None else "-"
            fps.append([cohort, name, str(p + 1), cause, str(int(voxels.sum())), f"{prob_iron[voxels].max():.3f}",
                        f"{prob_iron[voxels].mean():.3f}", f"{prob_cmb[voxels].max():.3f}", f"{(mimics.array[voxels] > 0).mean():.2f}",
                        f"{np.median(chi[voxels]):.3f}", f"{manifest['globus_pallidus_ppm']:.3f}", nucleus,
                        nearest(point, ref_cmb_c, spacing), nearest(point, ref_iron_c, spacing), gap,
                        nearest_object(manifest, reference.index_to_lps(point))])
        for r in sorted(set(range(len(ref_iron_c))) - matched_ref):
            voxels = ref_iron == r + 1
            around = ndimage.binary_dilation(voxels, GROW)
            others = np.delete(ref_iron_c, r, axis=0)
            pair = len(others) > 0 and np.linalg.norm(others - ref_iron_c[r], axis=1).min() <= TOLERANCE_VOXELS[IRON]
            has = "predicted iron off-centre" if (pred_iron[around] > 0).any() else "predicted as CMB" if pred_cmb[around].any() else "nothing"
            fns.append([cohort, name, str(r + 1), has, "pair" if pair else "single", str(int(voxels.sum())),
                        f"{prob_iron[voxels].max():.3f}", f"{prob_cmb[voxels].max():.3f}",
                        nearest(ref_iron_c[r], pred_iron_c, spacing),
                        nearest(ref_iron_c[r], np.delete(ref_iron_c, r, axis=0), spacing),
                        nearest_object(manifest, reference.index_to_lps(ref_iron_c[r]))])


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(x) for x in column) for column in zip(header, *rows)]
    return "\n".join("  ".join(x.ljust(w) for x, w in zip(row, widths)) for row in [header, *rows])


def counts(label: str, members: list[str], fps: list, fns: list, scores: list) -> None:
    iron = [r for c, r in scores if c in members]
    tp, fp, fn = (sum(getattr(r, k) for r in iron) for k in ("tp", "fp", "fn"))
    empty = [r for r in iron if r.n_ref == 0]
    print(f"{label}: {len(iron)} participants, iron TP {tp} FP {fp} FN {fn}; pooled precision {tp / (tp + fp):.3f}, "
          f"participant-mean precision {np.nanmean([r.precision for r in iron]):.3f} over {sum(r.n_pred > 0 for r in iron)} "
          f"participants with predictions; {len(empty)} participants have no reference iron and hold "
          f"{sum(r.fp for r in empty)} of the FPs (precision 0 each)")
    print("  FP by cause:", dict(sorted(Counter(r[3] for r in fps if r[0] in members).items())))
    print("  FN by what the prediction has:", dict(sorted(Counter(r[3] for r in fns if r[0] in members).items())),
          "of which in pairs:", sum(r[4] == "pair" for r in fns if r[0] in members))


def main(arguments: list[str]) -> None:
    fps, fns, scores, cohorts = [], [], [], []
    for argument in arguments:
        cohort, reference_folder, prediction_folder = argument.split(":")
        cohorts.append(cohort)
        analyse(cohort, Path(reference_folder), Path(prediction_folder), fps, fns, scores)
        print(f"{cohort}: {reference_folder} against {prediction_folder} done", file=sys.stderr)
    print("FALSE-POSITIVE IRON DEPOSITS. v: voxels of the cohort's grid; probabilities: the U-Net's (max, mean over the component);\n"
          "on_mimic: fraction of its voxels on a mimic; chi: their median true susceptibility (ppm); gp_chi: the participant's\n"
          "pallidal susceptibility; nucleus: deep nucleus under most of its voxels; nearest_cmb / nearest_iron: centroid to the\n"
          "nearest reference lesion's centroid; gap_iron: voxel distance from the component to the nearest reference iron voxel")
    print(table(["cohort", "participant", "comp", "cause", "voxels", "p_iron_max", "p_iron_mean", "p_cmb_max", "on_mimic", "chi",
                 "gp_chi", "nucleus", "nearest_cmb", "nearest_iron", "gap_iron", "nearest_manifest_object"], fps))
    print("\nMISSED IRON DEPOSITS")
    print(table(["cohort", "participant", "ref", "prediction_there", "pair", "voxels", "p_iron_max", "p_cmb_max",
                 "nearest_pred_iron", "nearest_other_ref_iron", "nearest_manifest_object"], fns))
    print("\nCOUNTS (cohort labels <protocol>-<seed>; a protocol's cohorts together first)")
    for protocol in dict.fromkeys(c.split("-")[0] for c in cohorts):
        members = [c for c in cohorts if c.split("-")[0] == protocol]
        for label, group in [(protocol + " (all)", members)] * (len(members) > 1) + [(c, [c]) for c in members]:
            counts(label, group, fps, fns, scores)


if __name__ == "__main__":
    main(sys.argv[1:])
