"""Lesions: 3-D connected components of a label map, and the per-participant lesion table.

Components are found per class with 26-connectivity (voxels touching by a face, an edge or
a corner belong to one lesion), the paper's "connected-component filter with 3D
connectivity" (section 2.5). Coordinates are given twice: as continuous voxel indices
(i, j, k) = (x, y, z) of the label map's file (ITK order), and in LPS patient millimetres
(+x left, +y posterior, +z superior; the DICOM/ITK convention, Slicer's RAS = (-x, -y, z)).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from .atomic import atomic_write
from .classes import CMB_CLASS, IRON_CLASS, LesionClass
from .volumes import Volume, physical_bounds

CONNECTIVITY_26 = np.ones((3, 3, 3), dtype=bool)
DEFAULT_CLASSES = (CMB_CLASS, IRON_CLASS)

TABLE_COLUMNS = [
    "lesion_id", "label", "class", "voxels", "volume_mm3",
    "centroid_i", "centroid_j", "centroid_k",
    "centroid_lps_x", "centroid_lps_y", "centroid_lps_z",
    "prob_max", "prob_mean", "second_stage_prob",
    "bbox_i_min", "bbox_j_min", "bbox_k_min", "bbox_i_max", "bbox_j_max", "bbox_k_max",
    "hemisphere",
]
MM_DECIMALS = 3  # coordinates, volumes: a micrometre is far below any voxel size
PROBABILITY_DECIMALS = 4


def label_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """3-D connected components (26-connectivity) of a binary mask (any nonzero voxel is
    foreground): (labelled int32 array, number of components), numbered in raster order as
    ndimage.label numbers them. Labelled within the foreground's bounding box: lesions are
    sparse, and ndimage.label's cost is the whole volume's (60 ms for 192 x 256 x 120)."""
    foreground = np.asarray(mask) > 0
    labelled = np.zeros(foreground.shape, dtype=np.int32)
    box = foreground_box(foreground)
    if box is None:
        return labelled, 0
    labelled[box], count = ndimage.label(foreground[box], structure=CONNECTIVITY_26)
    return labelled, count


def foreground_box(foreground: np.ndarray) -> tuple[slice, ...] | None:
    """The smallest box (slices) holding every True voxel of `foreground`; None if none is."""
    box = []
    for axis in range(foreground.ndim):
        along = np.flatnonzero(np.any(foreground, axis=tuple(a for a in range(foreground.ndim) if a != axis)))
        if not along.size:
            return None
        box.append(slice(int(along[0]), int(along[-1]) + 1))
    return tuple(box)


def component_maxima(values: np.ndarray, labelled: np.ndarray, count: int) -> np.ndarray:
    """The highest of `values` in each component 1..`count` of `labelled` (what
    ndimage.maximum(values, labelled, 1..count) gives, looking only at the components'
    voxels: ndimage sorts the whole volume, 1.9 s for a 192 x 256 x 120 one)."""
    inside = labelled > 0
    peaks = np.full(count, -np.inf, dtype=np.asarray(values).dtype)
    np.maximum.at(peaks, labelled[inside] - 1, np.asarray(values)[inside])
    return peaks


def component_centroids(mask: np.ndarray) -> np.ndarray:
    """Unweighted centroids (z, y, x, array order) of the 26-connected components of
    `mask`, shape (n, 3), in the order of the component labels."""
    return labelled_centroids(*label_components(mask))


def labelled_centroids(labelled: np.ndarray, count: int) -> np.ndarray:
    """component_centroids of components already labelled 1..count."""
    if count == 0:
        return np.zeros((0, 3))
    return np.array(ndimage.center_of_mass(np.ones(labelled.shape), labelled, range(1, count + 1)), dtype=float)


def remove_lesions(labels: np.ndarray, min_voxels: int = 1, probabilities: dict[int, np.ndarray] | None = None,
                   min_probability: dict[int, float] | None = None) -> np.ndarray:
    """A new label map without the components smaller than `min_voxels` and those whose
    highest probability of their own class (label value -> probability map) is below that
    class's `min_probability`; each class's components are labelled once for both rules.

    Components are taken per label value (1 CMB and 2 iron separately), so a small CMB
    touching a large iron deposit is still small. The network's arg-max keeps every
    component where a lesion class beats background by a hair; a component that never gets
    more confident than that is most often a mimic."""
    labels = np.asarray(labels)
    probabilities, min_probability = probabilities or {}, min_probability or {}
    kept = np.zeros_like(labels)
    for value in np.unique(labels[labels > 0]):
        threshold = min_probability.get(int(value), 0) if int(value) in probabilities else 0
        if min_voxels <= 1 and threshold <= 0:
            kept[labels == value] = value
            continue
        labelled, count = label_components(labels == value)
        keep = np.bincount(labelled.ravel(), minlength=count + 1)[1:] >= min_voxels
        if threshold > 0 and count:
            keep &= component_maxima(probabilities[int(value)], labelled, count) >= threshold
        kept[np.concatenate(([False], keep))[labelled]] = value
    return kept


def remove_small_lesions(labels: np.ndarray, min_voxels: int) -> np.ndarray:
    """A new label map without the components smaller than `min_voxels` (`remove_lesions`)."""
    return remove_lesions(labels, min_voxels)


def remove_unlikely_lesions(labels: np.ndarray, probabilities: dict[int, np.ndarray], min_probability: dict[int, float]) -> np.ndarray:
    """A new label map without the components below their class's `min_probability`
    (`remove_lesions`)."""
    return remove_lesions(labels, 1, probabilities, min_probability)


@dataclass
class Lesion:
    id: int  # 1..n over the participant, in table order
    label: int
    class_name: str
    voxels: int
    volume_mm3: float
    centroid_index: tuple  # (i, j, k) = (x, y, z), continuous voxel index
    centroid_lps: tuple  # (x, y, z) mm, LPS
    prob_max: float  # NaN without a probability map
    prob_mean: float
    bbox_index_min: tuple  # (i, j, k), inclusive
    bbox_index_max: tuple  # (i, j, k), inclusive
    hemisphere: str  # 'left', 'right' or 'midline'
    # the second-stage classifier's probability of the lesion's class (highest over the
    # candidates it holds); NaN for the U-Net alone, or a lesion no classifier decided
    second_stage_prob: float = float("nan")

    def row(self) -> dict:
        """The lesion as a table row (column name -> rounded value; '' for NaN)."""
        return {
            "lesion_id": self.id,
            "label": self.label,
            "class": self.class_name,
            "voxels": self.voxels,
            "volume_mm3": _rounded(self.volume_mm3, MM_DECIMALS),
            **{f"centroid_{a}": _rounded(v, MM_DECIMALS) for a, v in zip("ijk", self.centroid_index)},
            **{f"centroid_lps_{a}": _rounded(v, MM_DECIMALS) for a, v in zip("xyz", self.centroid_lps)},
            "prob_max": _rounded(self.prob_max, PROBABILITY_DECIMALS),
            "prob_mean": _rounded(self.prob_mean, PROBABILITY_DECIMALS),
            "second_stage_prob": _rounded(self.second_stage_prob, PROBABILITY_DECIMALS),
            **{f"bbox_{a}_min": v for a, v in zip("ijk", self.bbox_index_min)},
            **{f"bbox_{a}_max": v for a, v in zip("ijk", self.bbox_index_max)},
            "hemisphere": self.hemisphere,
        }

    @property
    def centroid_ras(self) -> tuple[float, float, float]:
        """The centroid in RAS mm (Slicer's patient coordinates)."""
        x, y, z = self.centroid_lps
        return (-x, -y, z)

    @classmethod
    def from_row(cls, row: dict) -> Lesion:
        """The lesion a table row describes (values as `row()` writes them, or as the strings
        a CSV reader returns); the inverse of `row()` up to its rounding. A table written before
        the second_stage_prob column reads with NaN there."""
        def number(name: str) -> float:
            value = row.get(name, "")
            return float("nan") if value in ("", None) else float(value)

        return cls(
            id=int(row["lesion_id"]),
            label=int(row["label"]),
            class_name=str(row["class"]),
            voxels=int(row["voxels"]),
            volume_mm3=number("volume_mm3"),
            centroid_index=tuple(number(f"centroid_{a}") for a in "ijk"),
            centroid_lps=tuple(number(f"centroid_lps_{a}") for a in "xyz"),
            prob_max=number("prob_max"),
            prob_mean=number("prob_mean"),
            bbox_index_min=tuple(int(row[f"bbox_{a}_min"]) for a in "ijk"),
            bbox_index_max=tuple(int(row[f"bbox_{a}_max"]) for a in "ijk"),
            hemisphere=str(row["hemisphere"]),
            second_stage_prob=number("second_stage_prob"),
        )


def probability_text(value: float) -> str:
    """A probability as the lesion lists show it: two decimals, empty for NaN (none known)."""
    return "" if math.isnan(value) else f"{value:.2f}"


def _rounded(value: float, decimals: int):
    return "" if math.isnan(value) else round(float(value), decimals)


# --- hemisphere -------------------------------------------------------------------------

def volume_centre_x(volume: Volume) -> float:
    """LPS x of the centre of the volume's bounding box."""
    low, high = physical_bounds(volume)
    return float(low[0] + high[0]) / 2


def half_voxel_width_x(volume: Volume) -> float:
    """Half the width of one voxel along patient x: half the x spacing for an axis-aligned
    grid; for an oblique grid, half the extent of the voxel box projected on x."""
    direction = np.asarray(volume.direction, dtype=float).reshape(3, 3)
    return float(np.abs(direction[0]) @ np.asarray(volume.spacing, dtype=float)) / 2


def hemisphere(lps_x: float, midline_x: float, half_width: float) -> str:
    """'midline' when the midline plane cuts the voxel-wide slab centred on the centroid
    (|x - midline| strictly less than half a voxel), else 'left' for x > midline (LPS +x
    is the patient's left) and 'right' for x < midline. A one-voxel lesion whose voxel
    only touches the midline (distance exactly half a voxel) lies on one side."""
    offset = lps_x - midline_x
    if abs(offset) < half_width - 1e-6:
        return "midline"
    return "left" if offset > 0 else "right"


# --- lesions ----------------------------------------------------------------------------

def find_lesions(
    labels: Volume,
    probabilities: dict[int, np.ndarray] | None = None,
    min_voxels: int = 1,
    midline_x_lps: float | None = None,
    classes: tuple[LesionClass, ...] = DEFAULT_CLASSES,
    second_stage_probability: np.ndarray | None = None,
) -> list[Lesion]:
    """The lesions of a 0/1/2 label map: 26-connected components of each class.

    Order and ids: by class (in the order of `classes`), then by centroid (z, y, x);
    ids run 1..n over the whole participant. `classes` names the label values (a union
    model's label 1 is 'Lesion', not 'Cerebral microbleed'); other values are ignored.

    probabilities: label value -> probability map (array on the same grid) for prob_max
    and prob_mean of the lesion's voxels; NaN when absent.

    second_stage_probability: a map on the same grid of the second stage's probability of the
    class each of its kept candidates was given (NaN elsewhere, pipeline.detect), for
    second_stage_prob, the highest over the lesion's voxels; NaN when absent.

    Components smaller than `min_voxels` are left out.

    Hemisphere: the centroid's LPS x is compared with `midline_x_lps` (the pipeline passes
    the brain mask's centroid; by default the x of the centre of the volume's bounding
    box): 'left' when greater (LPS +x points to the patient's left), 'right' when smaller,
    'midline' when closer than half a voxel width along x (see `hemisphere`)."""
    midline = volume_centre_x(labels) if midline_x_lps is None else float(midline_x_lps)
    half_width = half_voxel_width_x(labels)
    probabilities = probabilities or {}
    maps = {f"probability map of label {value}": probability for value, probability in probabilities.items()}
    for name, probability in {**maps, "second-stage probability map": second_stage_probability}.items():
        if probability is not None and np.shape(probability) != labels.shape:
            raise ValueError(f"{name} has shape {np.shape(probability)}, not the label map's {labels.shape}")
    lesions: list[Lesion] = []
    for lesion_class in classes:
        found = _class_lesions(labels, lesion_class, probabilities.get(lesion_class.label), min_voxels, second_stage_probability)
        for lesion in found:
            lesion.hemisphere = hemisphere(lesion.centroid_lps[0], midline, half_width)
        lesions += found
    for number, lesion in enumerate(lesions, start=1):
        lesion.id = number
    return lesions


def _class_lesions(labels: Volume, lesion_class: LesionClass, probability, min_voxels: int, second_stage_probability) -> list[Lesion]:
    """The lesions of one label value, sorted by centroid (z, y, x); id and hemisphere unset."""
    labelled, _ = label_components(labels.array == lesion_class.label)
    found = []
    for _, voxels_zyx in component_voxels(labelled):
        if len(voxels_zyx) >= min_voxels:
            lesion = _lesion(labels, lesion_class, voxels_zyx, probability)
            if second_stage_probability is not None:
                lesion.second_stage_prob = _highest_known(np.asarray(second_stage_probability)[tuple(voxels_zyx.T)])
            found.append(lesion)
    found.sort(key=lambda lesion: lesion.centroid_index[::-1])
    return found


def _highest_known(values: np.ndarray) -> float:
    """The highest of `values` that is not NaN; NaN when none is."""
    known = values[~np.isnan(values)]
    return float(known.max()) if known.size else float("nan")


def _lesion(labels: Volume, lesion_class: LesionClass, voxels_zyx: np.ndarray, probability) -> Lesion:
    centroid_index = tuple(float(v) for v in voxels_zyx.mean(axis=0)[::-1])
    if probability is None:
        prob_max = prob_mean = float("nan")
    else:
        values = np.asarray(probability)[tuple(voxels_zyx.T)]
        prob_max, prob_mean = float(values.max()), float(values.mean())
    return Lesion(
        id=0,
        label=lesion_class.label,
        class_name=lesion_class.name,
        voxels=len(voxels_zyx),
        volume_mm3=len(voxels_zyx) * labels.voxel_volume_mm3,
        centroid_index=centroid_index,
        centroid_lps=tuple(float(v) for v in labels.index_to_lps(centroid_index)),
        prob_max=prob_max,
        prob_mean=prob_mean,
        bbox_index_min=tuple(int(v) for v in voxels_zyx.min(axis=0)[::-1]),
        bbox_index_max=tuple(int(v) for v in voxels_zyx.max(axis=0)[::-1]),
        hemisphere="",
    )


def keep_model_probabilities(lesions: list[Lesion], model_lesions: list[Lesion]) -> list[Lesion]:
    """`lesions` (found on a reader's edited label map, without probabilities) where each one
    the reader left as the model made it (same class, voxel count and centroid) takes the
    model's prob_max and second_stage_prob; edited and painted lesions keep NaN."""
    for lesion in lesions:
        for original in model_lesions:
            same_place = max(abs(a - b) for a, b in zip(original.centroid_lps, lesion.centroid_lps)) < 1e-3
            if same_place and original.label == lesion.label and original.voxels == lesion.voxels:
                lesion.prob_max, lesion.second_stage_prob = original.prob_max, original.second_stage_prob
                break
    return lesions


def least_sure_first(lesions: list[Lesion]) -> list[int]:
    """The indices of `lesions` by their second-stage probability, lowest first, for a reader
    who checks the least certain lesions first (on held-out simulated cohorts most false
    microbleeds score below 0.999: README, Lesion table); lesions without one (painted or
    edited by the reader, or found by the U-Net alone) come last, in their own order."""
    def key(index: int) -> tuple[bool, float]:
        probability = lesions[index].second_stage_prob
        return (math.isnan(probability), 0.0 if math.isnan(probability) else probability)

    return sorted(range(len(lesions)), key=key)


# --- tables -----------------------------------------------------------------------------

def _delimiter(path) -> str:
    name = str(path).lower()
    if name.endswith(".tsv"):
        return "\t"
    if name.endswith(".csv"):
        return ","
    raise ValueError(f"{path}: a lesion table must end with .tsv or .csv")


def write_lesion_table(lesions: list[Lesion], path: Path | str, participant: str | None = None) -> Path:
    """One row per lesion, TSV (path ending .tsv) or CSV (.csv), UTF-8, written atomically
    (temporary file in the same folder, then renamed). Columns: `participant` (only when
    given), then TABLE_COLUMNS; empty prob_max/prob_mean when there was no probability map."""
    delimiter = _delimiter(path)
    columns = (["participant"] if participant is not None else []) + TABLE_COLUMNS
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    for lesion in lesions:
        row = lesion.row()
        if participant is not None:
            row["participant"] = participant
        writer.writerow(row)
    text = buffer.getvalue()
    return atomic_write(path, lambda temporary: Path(temporary).write_text(text, encoding="utf-8"))


def read_lesion_table(path: Path | str) -> list[dict]:
    """The rows of a lesion table as dicts of strings."""
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter=_delimiter(path)))


def read_lesions(path: Path | str) -> list[Lesion]:
    """The lesions of a lesion table written by `write_lesion_table`."""
    return [Lesion.from_row(row) for row in read_lesion_table(path)]


def lesion_counts(lesions: list[Lesion], classes: tuple[LesionClass, ...] = DEFAULT_CLASSES) -> dict:
    """Number and total volume (mm3) of lesions per class, for the cohort table:
    {'n_cmb': ..., 'volume_cmb_mm3': ..., 'n_iron': ..., 'volume_iron_mm3': ...}."""
    counts = {}
    for lesion_class in classes:
        members = [lesion for lesion in lesions if lesion.label == lesion_class.label]
        counts[f"n_{lesion_class.key}"] = len(members)
        counts[f"volume_{lesion_class.key}_mm3"] = round(sum(lesion.volume_mm3 for lesion in members), MM_DECIMALS)
    return counts


# --- what a reader changed ----------------------------------------------------------------

CHANGE_KINDS = ("kept", "relabelled", "added", "deleted")


def label_changes(original: np.ndarray, final: np.ndarray, classes: tuple[LesionClass, ...] = DEFAULT_CLASSES) -> dict:
    """What a reader changed between a model's label map (`original`) and the approved one
    (`final`), lesion by lesion. Lesions are the 26-connected components of each class, as
    in find_lesions. Rules, in this order:

    - a final lesion that overlaps an original lesion of its own class is 'kept' (its
      extent may have been edited: see voxels_changed);
    - else, one that overlaps an original lesion of another class is 'relabelled'
      (from_label: the other class it overlaps most);
    - else it is 'added';
    - an original lesion that overlaps no final lesion voxel, of any class, is 'deleted'.

    So kept + relabelled + added = the final lesions. Returns {'counts': {kind: n}, and per
    kind a list of lesions ({'label', 'class', 'voxels', 'centroid_index' (i, j, k)}; the
    relabelled also 'from_label', 'from_class'; deleted ones are the original lesions),
    'voxels_changed': voxels whose label differs}."""
    original, final = np.asarray(original), np.asarray(final)
    if original.shape != final.shape:
        raise ValueError(f"label maps of shapes {original.shape} and {final.shape} cannot be compared")
    names = {c.label: c.name for c in classes}
    original_lesion = np.isin(original, list(names))
    final_lesion = np.isin(final, list(names))
    changes = {kind: [] for kind in CHANGE_KINDS}
    for lesion_class in classes:
        value = lesion_class.label
        labelled, count = label_components(final == value)
        overlaps_own = components_touching(labelled, count, original == value)
        for number, voxels in component_voxels(labelled):
            item = _change_item(lesion_class, voxels)
            if overlaps_own[number - 1]:
                changes["kept"].append(item)
                continue
            underneath = original[tuple(voxels.T)]
            underneath = underneath[original_lesion[tuple(voxels.T)]]
            if underneath.size:
                from_label = int(np.bincount(underneath).argmax())
                changes["relabelled"].append({**item, "from_label": from_label, "from_class": names[from_label]})
            else:
                changes["added"].append(item)
        labelled, count = label_components(original == value)
        survives = components_touching(labelled, count, final_lesion)
        changes["deleted"] += [_change_item(lesion_class, voxels) for number, voxels in component_voxels(labelled) if not survives[number - 1]]
    for kind in CHANGE_KINDS:
        changes[kind].sort(key=lambda item: (item["label"], item["centroid_index"][::-1]))
    return {
        "counts": {kind: len(changes[kind]) for kind in CHANGE_KINDS},
        **changes,
        "voxels_changed": int(np.count_nonzero(np.where(original_lesion, original, 0) != np.where(final_lesion, final, 0))),
    }


def components_touching(labelled: np.ndarray, count: int, mask: np.ndarray) -> np.ndarray:
    """For each component 1..count of `labelled`: does it share a voxel with `mask`?"""
    return np.bincount(labelled[mask], minlength=count + 1)[1:] > 0


def component_voxels(labelled: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(component number, its voxels as (z, y, x) rows) for every component of `labelled`."""
    for number, box in enumerate(ndimage.find_objects(labelled), start=1):
        if box is not None:
            yield number, np.argwhere(labelled[box] == number) + [s.start for s in box]


def _change_item(lesion_class: LesionClass, voxels_zyx: np.ndarray) -> dict:
    return {
        "label": lesion_class.label,
        "class": lesion_class.name,
        "voxels": len(voxels_zyx),
        "centroid_index": [round(float(v), MM_DECIMALS) for v in voxels_zyx.mean(axis=0)[::-1]],
    }
