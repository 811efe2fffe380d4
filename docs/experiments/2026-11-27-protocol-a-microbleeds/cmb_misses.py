"""What lies under every missed microbleed (reference CMB left unmatched) of a prediction folder.

For each cohort (reference folder of simulated participants, prediction folder of
`deepmir predict`) every participant is matched exactly as `deepmir evaluate` does
(evaluation.read_reference, metrics.evaluate_participant / class_components /
match_lesions: voxel units, tolerance 3 voxels for CMBs). Every reference microbleed, missed
or found, is measured on its component ("lesion") and on that component grown by one voxel
(26-neighbourhood, "grown"):

- contrast: the library's own normalisation (preprocessing.stack_modalities: z-score inside
  the brain mask, QSM clipped at 5 SD first), i.e. z-scores against the whole brain;
  swi_z = minimum SWI z inside the lesion, qsm_z = maximum QSM z inside the lesion;
- U-Net: maximum prob_cmb and prob_iron over the grown lesion (the prediction folder's maps);
  "unet_cand": the second stage's U-Net proposal (candidates.proposal_labels with the card's
  proposal 0.02: lesion probabilities summing to >= 0.02) touches the grown lesion;
- extremum: "z_rule" = swi_z < -3.5 and the maximum QSM z over the grown lesion > 2 (the
  card's thresholds); "ext_any" = candidates.extremum_proposals on an empty proposal map
  (every voxel darkest in its 1 x 5 x 5 SWI window, below -3.5, beside a QSM maximum > 2)
  has a voxel in the grown lesion; "ext_cand" = the same with the U-Net proposals as the
  pipeline runs it (clearance 2 voxels), i.e. an extremum candidate existed there.
  Computed on the file grid: these volumes have identity directions, so the canonical grid
  differs only by axis flips, under which the symmetric windows give the same voxels;
- location: the manifest object of kind cmb nearest to the lesion's centroid (junction =
  lobar grey-white junction; caudate / putamen / thalamus = deep);
- what the prediction has on the grown lesion, and the cause of a miss (first that applies):
  "merged into a neighbour's CMB" (a predicted CMB touches it but is matched to another
  reference CMB: two neighbours predicted as one), "CMB off-centre" (a predicted CMB touches
  it, unmatched, centroid beyond 3 voxels),
  "labelled iron" (a predicted iron deposit touches it),
  "U-Net candidate rejected" (nothing predicted, a U-Net proposal touched it: the second stage
  removed it), "extremum candidate rejected" (nothing, an extremum candidate there),
  "no candidate" (nothing proposed at all);
  and whether another reference CMB lies within 3 voxels (pair).
The second-stage classifier's scores are not saved, so they are not reported.

Command used (from /work/main, one process, niced; the brief's third protocol A cohort, 1080, could not be
included: its prediction folder /tmp/s20/pred-1080-m051 no longer exists):
  nice -n 19 .venv/bin/python docs/experiments/2026-11-27-protocol-a-microbleeds/cmb_misses.py \
    A-1150:/tmp/s23/heldout-1150:/tmp/s23/pred-1150-final A-1110:/tmp/s22/heldout-1110:/tmp/s22/pred-1110-m051 \
    nominal-450:/tmp/s23/heldout-450:/tmp/s23/pred-450-final \
    > docs/experiments/2026-11-27-protocol-a-microbleeds/cmb_misses.txt
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from scipy import ndimage

from DeepMIRLib.candidates import extremum_proposals, proposal_labels
from DeepMIRLib.classes import CMB, IRON, TOLERANCE_VOXELS
from DeepMIRLib.metrics import class_components, match_lesions
from DeepMIRLib.preprocessing import stack_modalities
from DeepMIRLib.volumes import find_image, read_volume

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "2026-11-27-protocol-a-iron"))
from iron_errors import participants  # the cohort loading both analyses share

CARD = Path(__file__).resolve().parents[3] / "Resources/models/deepmir-multiclass-sim-w16.json"
SPEC = next(s for s in json.loads(CARD.read_text())["second_stage"] if s.get("extrema"))
GROW = np.ones((3, 3, 3), bool)
DEEP = {"caudate", "putamen", "thalamus"}
CAUSES = ["merged into a neighbour's CMB", "CMB off-centre", "labelled iron", "U-Net candidate rejected", "extremum candidate rejected", "no candidate"]


def nearest_cmb_object(manifest: dict, point_lps: np.ndarray) -> dict:
    objects = [o for o in manifest["objects"] if o["kind"] == "cmb"]
    distance = [float(np.linalg.norm(np.asarray(o["centre_lps_mm"]) - point_lps)) for o in objects]
    return objects[int(np.argmin(distance))]


def analyse(cohort: str, reference_folder: Path, prediction_folder: Path, rows: list, scores: list) -> None:
    for folder, manifest, reference, prediction, _, results in participants(reference_folder, prediction_folder):
        name = folder.name
        cmb = results[CMB]
        scores.append((cohort, cmb))
        ref_cmb, ref_c = class_components(reference, CMB)
        if len(ref_c) == 0:
            continue
        pred_cmb, pred_c = class_components(prediction, CMB)
        pred_iron = prediction.array == IRON
        matches = match_lesions(pred_c, ref_c, TOLERANCE_VOXELS[CMB])
        matched_ref = {r for _, r, _ in matches}
        matched_pred = {p + 1 for p, _, _ in matches}
        assert len(matched_ref) == cmb.tp and len(ref_c) - len(matched_ref) == cmb.fn
        assert np.allclose(np.abs(reference.direction), np.eye(3).ravel()), "not an axis-aligned grid"
        mask = read_volume(find_image(folder, "brainmask")).array > 0.5
        arrays = {m: read_volume(find_image(folder, m)).array for m in ("swi", "qsm")}
        stack = stack_modalities(arrays, ["swi", "qsm"], mask)
        swi, qsm = stack
        prob_cmb = read_volume(find_image(prediction_folder / name, "prob_cmb")).array
        prob_iron = read_volume(find_image(prediction_folder / name, "prob_iron")).array
        proposals = proposal_labels(np.zeros(swi.shape, np.uint8), np.stack([prob_cmb, prob_iron]), (CMB, IRON), SPEC["proposal"])
        ext_any = extremum_proposals(np.zeros(swi.shape, np.uint8), stack, ["swi", "qsm"], SPEC["extrema"]) == CMB
        ext_cand = (extremum_proposals(proposals, stack, ["swi", "qsm"], SPEC["extrema"]) == CMB) & (proposals == 0)
        extrema = SPEC["extrema"]
        for r in range(len(ref_c)):
            voxels = ref_cmb == r + 1
            around = ndimage.binary_dilation(voxels, GROW)
            others = np.delete(ref_c, r, axis=0)
            pair = len(others) > 0 and np.linalg.norm(others - ref_c[r], axis=1).min() <= TOLERANCE_VOXELS[CMB]
            swi_z, qsm_z = float(swi[voxels].min()), float(qsm[voxels].max())
            z_rule = swi_z < extrema["swi_below"] and float(qsm[around].max()) > extrema["qsm_above"]
            unet_cand = bool((proposals[around] > 0).any())
            has_ext = bool(ext_cand[around].any())
            if r in matched_ref:
                cause = "found"
            elif (pred_cmb[around] > 0).any():
                touching = set(np.unique(pred_cmb[around])) - {0}
                cause = "merged into a neighbour's CMB" if touching & matched_pred else "CMB off-centre"
            elif pred_iron[around].any():
                cause = "labelled iron"
            elif unet_cand:
                cause = "U-Net candidate rejected"
            elif has_ext:
                cause = "extremum candidate rejected"
            else:
                cause = "no candidate"
            if len(pred_c):
                offset = np.linalg.norm((pred_c - ref_c[r]), axis=1).min()
                nearest = f"{offset:.2f}v"
            else:
                nearest = "-"
            obj = nearest_cmb_object(manifest, reference.index_to_lps(ref_c[r]))
            rows.append({"cohort": cohort, "participant": name, "ref": r + 1, "cause": cause, "voxels": int(voxels.sum()),
                         "slices": int(np.ptp(np.nonzero(voxels)[0]) + 1), "p_cmb": float(prob_cmb[around].max()),
                         "p_iron": float(prob_iron[around].max()), "swi_z": swi_z, "qsm_z": qsm_z, "z_rule": z_rule,
                         "ext_any": bool(ext_any[around].any()), "unet_cand": unet_cand, "ext_cand": has_ext,
                         "location": obj["location"], "chi": obj["susceptibility_ppm"], "radius": obj["largest_radius_mm"],
                         "pair": bool(pair), "nearest_pred_cmb": nearest})


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(x) for x in column) for column in zip(header, *rows)]
    return "\n".join("  ".join(x.ljust(w) for x, w in zip(row, widths)) for row in [header, *rows])


COLUMNS = ["cohort", "participant", "ref", "cause", "voxels", "slices", "p_cmb", "p_iron", "swi_z", "qsm_z", "z_rule", "ext_any",
           "unet_cand", "ext_cand", "location", "chi", "radius", "pair", "nearest_pred_cmb"]


def fmt(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def quartiles(values: list[float]) -> str:
    if not values:
        return "-"
    q = np.percentile(values, [0, 25, 50, 75, 100])
    return " / ".join(f"{v:.2f}" for v in q)


def summary(label: str, members: list[str], rows: list, scores: list) -> None:
    results = [r for c, r in scores if c in members]
    tp, fp, fn = (sum(getattr(r, k) for r in results) for k in ("tp", "fp", "fn"))
    group = [r for r in rows if r["cohort"] in members]
    n_ref = len(group)
    missed = [r for r in group if r["cause"] != "found"]
    found = [r for r in group if r["cause"] == "found"]
    print(f"\n{label}: {len(results)} participants, CMB TP {tp} FP {fp} FN {fn}; {n_ref} reference microbleeds, "
          f"{len(missed)} missed (rate {len(missed) / max(n_ref, 1):.3f}); pooled sensitivity {tp / max(tp + fn, 1):.3f}")
    for cause in CAUSES:
        k = sum(r["cause"] == cause for r in missed)
        print(f"  {cause:28s} {k:3d}  ({k / max(n_ref, 1):.3f} per reference microbleed)")
    print(f"  of the misses: pair {sum(r['pair'] for r in missed)}, deep {sum(r['location'] in DEEP for r in missed)}, "
          f"z_rule met {sum(r['z_rule'] for r in missed)}, extremum voxel there {sum(r['ext_any'] for r in missed)}, "
          f"U-Net proposal there {sum(r['unet_cand'] for r in missed)}")
    for part, subset in (("missed", missed), ("found", found)):
        print(f"  {part:6s} (n={len(subset)}) min/q1/median/q3/max  voxels {quartiles([r['voxels'] for r in subset])}; "
              f"swi_z {quartiles([r['swi_z'] for r in subset])}; qsm_z {quartiles([r['qsm_z'] for r in subset])}; "
              f"p_cmb {quartiles([r['p_cmb'] for r in subset])}; chi {quartiles([r['chi'] for r in subset])}")
        print(f"         z_rule met {sum(r['z_rule'] for r in subset)}/{len(subset)}, deep {sum(r['location'] in DEEP for r in subset)}/{len(subset)}, "
              f"U-Net proposal there {sum(r['unet_cand'] for r in subset)}/{len(subset)}")
    for location in ("deep", "junction"):
        sub = [r for r in group if (r["location"] in DEEP) == (location == "deep")]
        k = sum(r["cause"] != "found" for r in sub)
        print(f"  {location:8s}: {len(sub)} reference, {k} missed (rate {k / max(len(sub), 1):.3f})")
    for low, high in ((1, 2), (3, 5), (6, 10), (11, 10 ** 6)):
        sub = [r for r in group if low <= r["voxels"] <= high]
        k = sum(r["cause"] != "found" for r in sub)
        print(f"  size {low}-{high if high < 10 ** 6 else 'more'} voxels: {len(sub)} reference, {k} missed (rate {k / max(len(sub), 1):.3f})")
    for met in (True, False):
        sub = [r for r in group if r["z_rule"] == met]
        k = sum(r["cause"] != "found" for r in sub)
        print(f"  z_rule {'met' if met else 'not met'}: {len(sub)} reference, {k} missed (rate {k / max(len(sub), 1):.3f})")


def main(arguments: list[str]) -> None:
    rows, scores, cohorts = [], [], []
    for argument in arguments:
        cohort, reference_folder, prediction_folder = argument.split(":")
        cohorts.append(cohort)
        analyse(cohort, Path(reference_folder), Path(prediction_folder), rows, scores)
        print(f"{cohort}: {reference_folder} against {prediction_folder} done", file=sys.stderr)
    print("MISSED MICROBLEEDS (reference CMB unmatched within 3 voxels). voxels/slices: the reference component's size and z-extent;\n"
          "p_cmb/p_iron: U-Net max over the lesion grown by one voxel; swi_z/qsm_z: min SWI z / max QSM z inside the lesion (brain z-scores,\n"
          "the library's normalisation); z_rule: swi_z < -3.5 and grown-lesion QSM z max > 2; ext_any: an extremum voxel (library rule, no\n"
          "clearance) in the grown lesion; unet_cand: a U-Net proposal (prob sum >= 0.02) touches it; ext_cand: an extremum candidate the\n"
          "pipeline adds (clearance from U-Net proposals) touches it; chi/radius: manifest susceptibility (ppm) and largest radius (mm);\n"
          "pair: another reference CMB within 3 voxels; nearest_pred_cmb: distance to the nearest predicted CMB centroid")
    print(table(COLUMNS, [[fmt(r[c]) for c in COLUMNS] for r in rows if r["cause"] != "found"]))
    print("\nCOUNTS (cohort labels <protocol>-<seed>; a protocol's cohorts pooled first)")
    for protocol in dict.fromkeys(c.split("-")[0] for c in cohorts):
        members = [c for c in cohorts if c.split("-")[0] == protocol]
        for label, group in [(protocol + " (all)", members)] * (len(members) > 1) + [(c, [c]) for c in members]:
            summary(label, group, rows, scores)
    print("\nCAUSE COUNTS", dict(Counter((r["cohort"].split("-")[0], r["cause"]) for r in rows)))


if __name__ == "__main__":
    main(sys.argv[1:])
