"""Lesions: 3-D connected components of a label map, and the per-participant lesion table.

Components are found per class with 26-connectivity (voxels touching by a face, an edge or
a corner belong to one lesion). Coordinates are given twice: as continuous voxel indices
(i, j, k) = (x, y, z) of the label map's file, and in LPS patient millimetres (+x left,
+y posterior, +z superior; the DICOM/ITK convention, RAS = (-x, -y, z)).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .atomic import write_text_atomic
from .classes import CMB_CLASS, IRON_CLASS, LesionClass
from .volumes import Volume

CONNECTIVITY_26 = np.ones((3, 3, 3), dtype=bool)
DEFAULT_CLASSES = (CMB_CLASS, IRON_CLASS)

TABLE_COLUMNS = [
    "lesion_id", "label", "class", "voxels", "volume_mm3",
    "centroid_i", "centroid_j", "centroid_k",
    "centroid_lps_x", "centroid_lps_y", "centroid_lps_z",
    "prob_max", "prob_mean",
    "bbox_i_min", "bbox_j_min", "bbox_k_min", "bbox_i_max", "bbox_j_max", "bbox_k_max",
    "hemisphere",
]


def label_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """3-D connected components (26-connectivity) of a binary mask: (labelled array, count)."""
    return ndimage.label(np.asarray(mask) > 0, structure=CONNECTIVITY_26)


def component_centroids(mask: np.ndarray) -> np.ndarray:
    """Centroids (z, y, x) of the 26-connected components of `mask`, shape (n, 3)."""
    labelled, count = label_components(mask)
    if count == 0:
        return np.zeros((0, 3))
    return np.array(ndimage.center_of_mass(np.ones(labelled.shape), labelled, range(1, count + 1)), dtype=float)


def remove_small_lesions(labels: np.ndarray, min_voxels: int) -> np.ndarray:
    """A copy of a 0/1/2 label map without the components smaller than `min_voxels`."""
    labels = np.asarray(labels)
    if min_voxels <= 1:
        return labels.copy()
    kept = np.zeros_like(labels)
    for value in np.unique(labels[labels > 0]):
        labelled, count = label_components(labels == value)
        if count == 0:
            continue
        sizes = np.bincount(labelled.ravel(), minlength=count + 1)
        large = np.flatnonzero(sizes >= min_voxels)
        large = large[large > 0]
        kept[np.isin(labelled, large)] = value
    return kept


@dataclass
class Lesion:
    lesion_id: int
    label: int
    class_name: str
    voxels: int
    volume_mm3: float
    centroid_index: tuple  # (i, j, k) = (x, y, z), continuous voxel index
    centroid_lps: tuple  # mm
    prob_max: float
    prob_mean: float
    bbox_index_min: tuple  # (i, j, k), inclusive
    bbox_index_max: tuple
    hemisphere: str

    def row(self) -> dict:
        return {
            "lesion_id": self.lesion_id,
            "label": self.label,
            "class": self.class_name,
            "voxels": self.voxels,
            "volume_mm3": round(self.volume_mm3, 3),
            **{f"centroid_{a}": round(v, 3) for a, v in zip("ijk", self.centroid_index)},
            **{f"centroid_lps_{a}": round(v, 3) for a, v in zip("xyz", self.centroid_lps)},
            "prob_max": "" if math.isnan(self.prob_max) else round(self.prob_max, 4),
            "prob_mean": "" if math.isnan(self.prob_mean) else round(self.prob_mean, 4),
            **{f"bbox_{a}_min": v for a, v in zip("ijk", self.bbox_index_min)},
            **{f"bbox_{a}_max": v for a, v in zip("ijk", self.bbox_index_max)},
            "hemisphere": self.hemisphere,
        }


def _hemisphere(lps_x: float, midline_x: float, half_voxel: float) -> str:
    if abs(lps_x - midline_x) <= half_voxel:
        return "midline"
    return "left" if lps_x > midline_x else "right"


def _volume_centre_x(volume: Volume) -> float:
    centre_index = (np.array(volume.shape[::-1]) - 1) / 2
    return float(volume.index_to_lps(centre_index)[0])


def find_lesions(
    labels: Volume,
    probabilities: dict[int, np.ndarray] | None = None,
    min_voxels: int = 1,
    midline_x_lps: float | None = None,
    classes: tuple[LesionClass, ...] = DEFAULT_CLASSES,
) -> list[Lesion]:
    """The lesions of a 0/1/2 label map, ordered by class, then by centroid (z, y, x).

    probabilities: label value -> probability map on the same grid, for prob_max/prob_mean
    (NaN when absent). Hemisphere: 'left' when the centroid's LPS x is greater than
    `midline_x_lps` (LPS +x points to the patient's left), 'right' when smaller, 'midline'
    within half a voxel of it; by default the midline is the x of the volume's centre
    (the pipeline passes the brain mask's centroid instead). `classes` names the label
    values (a union model's label 1 is 'Lesion', not 'Cerebral microbleed')."""
    midline = _volume_centre_x(labels) if midline_x_lps is None else midline_x_lps
    half_voxel = min(labels.spacing) / 2
    lesions: list[Lesion] = []
    for lesion_class in classes:
        lesions += _class_lesions(labels, lesion_class.label, lesion_class, probabilities, min_voxels, midline, half_voxel)
    for number, lesion in enumerate(lesions, start=1):
        lesion.lesion_id = number
    return lesions


def _class_lesions(labels: Volume, value: int, lesion_class: LesionClass, probabilities, min_voxels, midline, half_voxel) -> list[Lesion]:
    labelled, count = label_components(labels.array == value)
    probability = None if probabilities is None else probabilities.get(value)
    found = []
    for index, box in enumerate(ndimage.find_objects(labelled), start=1):
        voxels_zyx = np.argwhere(labelled[box] == index) + [s.start for s in box]
        if len(voxels_zyx) < min_voxels:
            continue
        centroid_zyx = voxels_zyx.mean(axis=0)
        centroid_index = tuple(float(v) for v in centroid_zyx[::-1])
        centroid_lps = tuple(float(v) for v in labels.index_to_lps(centroid_index))
        if probability is not None:
            values = probability[tuple(voxels_zyx.T)]
            prob_max, prob_mean = float(values.max()), float(values.mean())
        else:
            prob_max = prob_mean = float("nan")
        found.append(
            Lesion(
                lesion_id=0,
                label=value,
                class_name=lesion_class.name,
                voxels=len(voxels_zyx),
                volume_mm3=len(voxels_zyx) * labels.voxel_volume_mm3,
                centroid_index=centroid_index,
                centroid_lps=centroid_lps,
                prob_max=prob_max,
                prob_mean=prob_mean,
                bbox_index_min=tuple(int(v) for v in voxels_zyx.min(axis=0)[::-1]),
                bbox_index_max=tuple(int(v) for v in voxels_zyx.max(axis=0)[::-1]),
                hemisphere=_hemisphere(centroid_lps[0], midline, half_voxel),
            )
        )
    found.sort(key=lambda lesion: lesion.centroid_index[::-1])
    return found


def write_lesion_table(lesions: list[Lesion], path, participant: str | None = None):
    """TSV (path ending .tsv) or CSV (.csv), one row per lesion, written atomically."""
    delimiter = "," if str(path).endswith(".csv") else "\t"
    columns = (["participant"] if participant is not None else []) + TABLE_COLUMNS
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, delimiter=delimiter, lineterminator="\n")
    writer.writeheader()
    for lesion in lesions:
        row = lesion.row()
        if participant is not None:
            row["participant"] = participant
        writer.writerow(row)
    return write_text_atomic(path, buffer.getvalue())


def read_lesion_table(path) -> list[dict]:
    delimiter = "," if str(path).endswith(".csv") else "\t"
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def lesion_counts(lesions: list[Lesion], classes: tuple[LesionClass, ...] = DEFAULT_CLASSES) -> dict:
    """Number and total volume (mm3) of lesions per class, for the cohort table."""
    counts = {}
    for lesion_class in classes:
        members = [lesion for lesion in lesions if lesion.label == lesion_class.label]
        counts[f"n_{lesion_class.key}"] = len(members)
        counts[f"volume_{lesion_class.key}_mm3"] = round(sum(lesion.volume_mm3 for lesion in members), 3)
    return counts
