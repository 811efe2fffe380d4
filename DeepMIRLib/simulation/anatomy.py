"""The anatomy of simulated participants: the MNI152 2009a template, warped per participant.

Tissue maps (grey matter, white matter, CSF) come from the MNI152 2009a symmetric 1 mm
template and its tissue probability maps, which the `nilearn` package ships as package data
(read here with SimpleITK; nothing is downloaded). Deep nuclei are ellipsoids at their MNI
positions, kept inside the brain. Each participant gets a smooth random deformation
(B-spline), a head pose (rotation and shift) and an 'age' that enlarges the ventricles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import SimpleITK as sitk

# Deep nuclei: MNI centre (RAS mm, right hemisphere; mirrored to the left) and semi-axes (mm, x y z).
# Positions and sizes approximate those of standard atlases (e.g. Harvard-Oxford subcortical,
# the ATAG basal ganglia atlas, Keuken et al. 2014).
NUCLEI = {
    "globus_pallidus": ((19.0, -3.0, -1.0), (3.5, 9.0, 5.0)),
    "putamen": ((25.0, 2.0, 0.0), (4.5, 14.0, 8.0)),
    "caudate": ((13.0, 12.0, 10.0), (4.0, 8.0, 8.0)),
    "thalamus": ((11.0, -18.0, 7.0), (7.0, 12.0, 7.0)),
    "substantia_nigra": ((11.0, -18.0, -11.0), (3.0, 7.0, 2.5)),
    "red_nucleus": ((5.0, -20.0, -8.0), (3.0, 3.5, 3.0)),
    "dentate": ((15.0, -57.0, -35.0), (6.0, 8.0, 5.0)),
}
NUCLEUS_LABELS = {name: i for i, name in enumerate(NUCLEI, start=1)}
VENTRICLE_BOX_RAS = ((-30.0, 30.0), (-50.0, 35.0), (-5.0, 35.0))  # where CSF counts as ventricle


def ras_to_lps(point: Sequence[float]) -> np.ndarray:
    x, y, z = point
    return np.array([-x, -y, z], float)


@lru_cache(maxsize=1)
def mni_template() -> dict[str, sitk.Image]:
    """MNI152 2009a 1 mm maps as float32 images in [0, 1]: 't1', 'gm', 'wm', 'csf', 'brain',
    'nuclei' (label image, NUCLEUS_LABELS) and 'ventricle_box'."""
    data = resources.files("nilearn.datasets.data")
    maps = {}
    for name in ("t1", "gm", "wm"):
        image = sitk.ReadImage(str(data / f"mni_icbm152_{name}_tal_nlin_sym_09a_converted.nii.gz"), sitk.sitkFloat32)
        maps[name] = sitk.Cast(image / 255.0, sitk.sitkFloat32)
    tissue = maps["gm"] + maps["wm"]
    brain = sitk.BinaryFillhole(sitk.BinaryMorphologicalClosing(tissue > 0.3, [3, 3, 3]))
    brain_array = sitk.GetArrayFromImage(brain).astype(bool)
    csf_array = np.clip(1.0 - sitk.GetArrayFromImage(tissue), 0.0, 1.0) * brain_array
    maps["csf"] = _like(csf_array.astype(np.float32), maps["gm"])
    maps["brain"] = _like(brain_array.astype(np.float32), maps["gm"])
    ras = _template_ras(maps["gm"])
    maps["nuclei"] = _like(_nuclei_labels(ras, brain_array), maps["gm"])
    maps["ventricle_box"] = _like(_ventricle_box(ras), maps["gm"])
    return maps


def _like(array: np.ndarray, reference: sitk.Image) -> sitk.Image:
    image = sitk.GetImageFromArray(array.astype(np.float32) if array.dtype == np.float64 else array)
    image.CopyInformation(reference)
    return image


def _template_ras(reference: sitk.Image) -> np.ndarray:
    """RAS coordinates (3, z, y, x) of the template's voxels (its direction is diagonal)."""
    size = reference.GetSize()
    axes = [np.array([reference.TransformIndexToPhysicalPoint((i, 0, 0))[0] for i in range(size[0])]),
            np.array([reference.TransformIndexToPhysicalPoint((0, j, 0))[1] for j in range(size[1])]),
            np.array([reference.TransformIndexToPhysicalPoint((0, 0, k))[2] for k in range(size[2])])]
    lps = np.meshgrid(axes[2], axes[1], axes[0], indexing="ij")[::-1]  # x, y, z as (z, y, x) arrays
    return np.stack([-lps[0], -lps[1], lps[2]]).astype(np.float32)


def _ventricle_box(ras: np.ndarray) -> np.ndarray:
    inside = np.ones(ras.shape[1:], bool)
    for axis, (low, high) in enumerate(VENTRICLE_BOX_RAS):
        inside &= (ras[axis] >= low) & (ras[axis] <= high)
    return inside.astype(np.float32)


def _nuclei_labels(ras: np.ndarray, brain: np.ndarray) -> np.ndarray:
    """Ellipsoids of the deep nuclei (both hemispheres) on the template grid, inside the brain."""
    labels = np.zeros(brain.shape, np.float32)
    for name, (centre, axes) in NUCLEI.items():
        for side in (1.0, -1.0):
            c = (side * centre[0], centre[1], centre[2])
            inside = sum(((ras[i] - c[i]) / axes[i]) ** 2 for i in range(3)) <= 1.0
            labels[inside & brain] = NUCLEUS_LABELS[name]
    return labels


@dataclass
class Anatomy:
    """A participant's anatomy resampled onto some grid (arrays z, y, x)."""

    gm: np.ndarray
    wm: np.ndarray
    csf: np.ndarray
    brain: np.ndarray  # bool
    nuclei: np.ndarray  # uint8 labels (NUCLEUS_LABELS)
    ventricles: np.ndarray  # bool


def participant_transform(rng: np.random.Generator, deformation_mm: float = 2.5, rotation_deg: float = 6.0, shift_mm: float = 5.0) -> sitk.Transform:
    """Participant space -> MNI space: a head pose (rotation, shift) and a smooth random
    B-spline deformation (control points 30 mm apart, displacements of `deformation_mm` SD)."""
    template = mni_template()["brain"]
    pose = sitk.Euler3DTransform()
    pose.SetCenter((0.0, -18.0, 10.0))
    pose.SetRotation(*np.deg2rad(rng.uniform(-rotation_deg, rotation_deg, 3)))
    pose.SetTranslation(tuple(rng.uniform(-shift_mm, shift_mm, 3)))
    mesh = [max(1, round(n * s / 30.0)) for n, s in zip(template.GetSize(), template.GetSpacing())]
    bspline = sitk.BSplineTransformInitializer(template, mesh, 3)
    bspline.SetParameters(tuple(rng.normal(0.0, deformation_mm, len(bspline.GetParameters()))))
    return _as_displacement_field(sitk.CompositeTransform([pose, bspline]), template)


def _as_displacement_field(transform: sitk.Transform, template: sitk.Image, spacing_mm: float = 3.0, margin_mm: float = 40.0) -> sitk.Transform:
    """The same (smooth) mapping sampled every `spacing_mm` over the template's field of view
    plus a margin, and interpolated linearly: evaluating the B-spline at every voxel of every
    grid costs seconds, this costs milliseconds."""
    low = np.array(template.TransformIndexToPhysicalPoint((0, 0, 0)))
    high = np.array(template.TransformIndexToPhysicalPoint([n - 1 for n in template.GetSize()]))
    low, high = np.minimum(low, high) - margin_mm, np.maximum(low, high) + margin_mm
    size = [int(np.ceil((h - l) / spacing_mm)) + 1 for l, h in zip(low, high)]
    field = sitk.TransformToDisplacementField(transform, sitk.sitkVectorFloat64, size, tuple(low), (spacing_mm,) * 3, (1, 0, 0, 0, 1, 0, 0, 0, 1))
    return sitk.DisplacementFieldTransform(field)


def resample_anatomy(grid: sitk.Image, transform: sitk.Transform, ventricle_growth_mm: float = 0.0) -> Anatomy:
    """The template's maps on `grid` (participant space) through `transform` (to MNI)."""
    template = mni_template()
    stacked = sitk.Compose([template[name] for name in ("gm", "wm", "csf", "brain")])
    resampled = sitk.GetArrayFromImage(sitk.Resample(stacked, grid, transform, sitk.sitkLinear, 0.0))
    gm, wm, csf, brain = (resampled[..., i] for i in range(4))
    nuclei = sitk.GetArrayFromImage(sitk.Resample(template["nuclei"], grid, transform, sitk.sitkNearestNeighbor, 0.0)).astype(np.uint8)
    brain = brain > 0.5
    ventricles = _ventricles(grid, transform, csf, brain)
    if ventricle_growth_mm > 0:
        grown = _grow(ventricles, grid, ventricle_growth_mm)
        added = grown & ~ventricles & (nuclei == 0)
        csf = np.where(added, 1.0, csf)
        gm = np.where(added, 0.0, gm)
        wm = np.where(added, 0.0, wm)
        ventricles = grown
    return Anatomy(gm, wm, csf, brain, nuclei, ventricles)


def _ventricles(grid: sitk.Image, transform: sitk.Transform, csf: np.ndarray, brain: np.ndarray) -> np.ndarray:
    """CSF deep inside the brain, in a central box of MNI space: the lateral and third ventricles."""
    eroded = sitk.GetArrayFromImage(sitk.BinaryErode(_like(brain.astype(np.uint8), grid), [6, 6, 6])).astype(bool)
    box = sitk.GetArrayFromImage(sitk.Resample(mni_template()["ventricle_box"], grid, transform, sitk.sitkNearestNeighbor, 0.0))
    return (csf > 0.5) & eroded & (box > 0)


def _grow(mask: np.ndarray, grid: sitk.Image, mm: float) -> np.ndarray:
    radius = [max(1, round(mm / s)) for s in grid.GetSpacing()]
    return sitk.GetArrayFromImage(sitk.BinaryDilate(_like(mask.astype(np.uint8), grid), radius)).astype(bool)
