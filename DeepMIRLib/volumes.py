"""Volumes and their geometry: reading, writing, checking, reorienting and resampling.

Arrays are numpy in SimpleITK order (z, y, x); every array travels with its geometry
(origin, spacing and direction in LPS patient coordinates, as SimpleITK reports them).
Files are read and written with SimpleITK: NIfTI, NRRD, MetaImage, or a DICOM series folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from .atomic import atomic_write
from .errors import InputError

IMAGE_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")

# Canonical orientation for slicing: index axes point to patient Left, Posterior, Superior
# (identity direction), so array[z] is an axial slice in patient space.
CANONICAL_ORIENTATION = "LPS"


@dataclass
class Volume:
    """A 3-D scalar image: numpy array (z, y, x) plus its patient-space geometry."""

    array: np.ndarray
    origin: tuple
    spacing: tuple  # (x, y, z) in mm, SimpleITK order
    direction: tuple  # 9 numbers, row-major 3x3; columns are the index axes in LPS
    source: str | None = None

    @classmethod
    def from_image(cls, image: sitk.Image, source=None) -> "Volume":
        return cls(
            array=sitk.GetArrayFromImage(image),
            origin=image.GetOrigin(),
            spacing=image.GetSpacing(),
            direction=image.GetDirection(),
            source=str(source) if source is not None else None,
        )

    def to_image(self) -> sitk.Image:
        image = sitk.GetImageFromArray(self.array)
        image.SetOrigin(tuple(float(v) for v in self.origin))
        image.SetSpacing(tuple(float(v) for v in self.spacing))
        image.SetDirection(tuple(float(v) for v in self.direction))
        return image

    def with_array(self, array: np.ndarray) -> "Volume":
        """The same grid carrying another array of the same shape."""
        if array.shape != self.array.shape:
            raise ValueError(f"array shape {array.shape} does not match the grid {self.array.shape}")
        return Volume(array, self.origin, self.spacing, self.direction, self.source)

    @property
    def shape(self) -> tuple:
        return self.array.shape

    @property
    def voxel_volume_mm3(self) -> float:
        return float(np.prod(self.spacing))

    def index_to_lps(self, index_xyz) -> np.ndarray:
        """Continuous voxel index(es) (x, y, z order, shape (..., 3)) to LPS millimetres."""
        direction = np.asarray(self.direction, dtype=float).reshape(3, 3)
        index = np.asarray(index_xyz, dtype=float)
        return np.asarray(self.origin) + (index * np.asarray(self.spacing)) @ direction.T

    def lps_to_index(self, point_lps) -> np.ndarray:
        """LPS millimetres (shape (..., 3)) to continuous voxel index (x, y, z order)."""
        direction = np.asarray(self.direction, dtype=float).reshape(3, 3)
        offset = np.asarray(point_lps, dtype=float) - np.asarray(self.origin)
        return (offset @ np.linalg.inv(direction).T) / np.asarray(self.spacing)


def find_image(folder, stem: str):
    """Path of the image called `stem` in `folder` (any supported suffix, or a DICOM
    series folder called `stem`), or None when there is none."""
    folder = Path(folder)
    for suffix in IMAGE_SUFFIXES:
        candidate = folder / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    if (folder / stem).is_dir():
        return folder / stem
    return None


def read_image(path) -> sitk.Image:
    """Read a file or DICOM series folder with SimpleITK; clear errors for missing or
    unreadable input and for anything that is not a 3-D scalar volume."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    try:
        image = _read_dicom_series(path) if path.is_dir() else sitk.ReadImage(str(path))
    except RuntimeError as err:
        first_line = str(err).strip().splitlines()[-1] if str(err).strip() else "unknown error"
        raise InputError(path, f"cannot be read as an image ({first_line})") from None
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(path, f"has {image.GetNumberOfComponentsPerPixel()} components per voxel; a scalar volume is required")
    if image.GetDimension() != 3:
        raise InputError(path, f"is a {image.GetDimension()}-D image; a 3-D volume is required")
    if min(image.GetSize()) < 2:
        raise InputError(path, f"has size {image.GetSize()}; a 3-D volume needs at least 2 voxels along every axis")
    return image


def _read_dicom_series(folder: Path) -> sitk.Image:
    series_ids = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder))
    if not series_ids:
        raise InputError(folder, "folder holds no DICOM series")
    if len(series_ids) > 1:
        raise InputError(folder, f"folder holds {len(series_ids)} DICOM series; put each series in its own folder")
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), series_ids[0]))
    return reader.Execute()


def read_volume(path, dtype=np.float32) -> Volume:
    """Read a 3-D scalar volume and check that every voxel is a finite number."""
    volume = Volume.from_image(read_image(path), source=path)
    check_finite(volume.array, path)
    if str(path).endswith((".nii", ".nii.gz")):
        _check_finite_nifti(path)
    volume.array = volume.array.astype(dtype, copy=False)
    return volume


def check_finite(array: np.ndarray, path) -> None:
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        bad = int(np.size(array) - np.isfinite(array).sum())
        raise InputError(path, f"contains {bad} NaN or infinite voxels")


def _check_finite_nifti(path) -> None:
    """ITK's NIfTI reader turns NaN into 0 without a word; look at the stored values."""
    import nibabel

    image = nibabel.load(str(path))
    if np.issubdtype(image.get_data_dtype(), np.floating):
        check_finite(np.asanyarray(image.dataobj), path)


def write_volume(volume: Volume | sitk.Image, path, compress: bool = True) -> Path:
    """Write atomically: to a temporary name in the same folder, then rename, so that an
    interrupted write never leaves a partial file under the final name."""
    path = Path(path)
    image = volume.to_image() if isinstance(volume, Volume) else volume
    suffix = next((s for s in IMAGE_SUFFIXES if path.name.endswith(s)), path.suffix)
    atomic_write(path, lambda temporary: sitk.WriteImage(image, temporary, useCompression=compress), suffix=suffix)
    return path


# --- geometry -------------------------------------------------------------------------

def same_grid(a: Volume, b: Volume, tolerance_mm: float = 1e-3) -> bool:
    """True when both volumes have the same size and, within tolerance, the same voxel grid."""
    if a.shape != b.shape:
        return False
    return (
        np.allclose(a.origin, b.origin, atol=tolerance_mm)
        and np.allclose(a.spacing, b.spacing, atol=tolerance_mm)
        and np.allclose(a.direction, b.direction, atol=1e-5)
    )


def physical_bounds(volume: Volume) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned LPS bounding box (min, max corner) of the volume's voxels, voxel edges included."""
    nz, ny, nx = volume.shape
    corners = np.array(
        [[i, j, k] for i in (-0.5, nx - 0.5) for j in (-0.5, ny - 0.5) for k in (-0.5, nz - 0.5)]
    )
    points = volume.index_to_lps(corners)
    return points.min(axis=0), points.max(axis=0)


def overlap_fraction(moving: Volume, reference: Volume) -> float:
    """Fraction of the reference's bounding box that the moving volume's bounding box covers."""
    lo_m, hi_m = physical_bounds(moving)
    lo_r, hi_r = physical_bounds(reference)
    overlap = np.clip(np.minimum(hi_m, hi_r) - np.maximum(lo_m, lo_r), 0, None)
    return float(np.prod(overlap) / np.prod(hi_r - lo_r))


def check_overlap(moving: Volume, reference: Volume, minimum: float = 0.05) -> None:
    """Refuse a pair of volumes whose fields of view do not overlap (in patient space)."""
    fraction = overlap_fraction(moving, reference)
    if fraction < minimum:
        raise InputError(
            moving.source,
            f"does not overlap the reference grid of {reference.source or 'SWI'} in patient space "
            f"({100 * fraction:.1f} % of its field of view is covered); check the files belong to the same participant and session",
        )


def resample_onto(
    moving: Volume,
    reference: Volume,
    transform: sitk.Transform | None = None,
    interpolator=sitk.sitkLinear,
    default_value: float = 0.0,
) -> Volume:
    """Resample `moving` onto the grid of `reference` (optionally through a transform that
    maps reference points to moving points, as SimpleITK registration returns)."""
    resampled = sitk.Resample(
        moving.to_image(),
        reference.to_image(),
        transform if transform is not None else sitk.Transform(),
        interpolator,
        default_value,
        sitk.sitkFloat32 if interpolator != sitk.sitkNearestNeighbor else sitk.sitkUnknown,
    )
    return Volume.from_image(resampled, source=moving.source)


# --- reorientation ----------------------------------------------------------------------

@dataclass
class Reorientation:
    """How a volume was permuted and flipped into the canonical LPS orientation, so that
    results computed there can be put back exactly onto the original grid."""

    original: Volume  # geometry of the input grid (its array is not used)
    original_code: str

    def restore(self, canonical_array: np.ndarray) -> np.ndarray:
        """Array computed on the canonical grid, returned on the original grid."""
        canonical = sitk.GetImageFromArray(canonical_array)
        canonical.CopyInformation(self._canonical_reference)
        restored = sitk.DICOMOrient(canonical, self.original_code)
        array = sitk.GetArrayFromImage(restored)
        if array.shape != self.original.shape:
            raise RuntimeError("reorientation did not invert: grid shapes differ")
        return array

    @property
    def _canonical_reference(self) -> sitk.Image:
        template = sitk.Image([int(n) for n in self.original.shape[::-1]], sitk.sitkUInt8)
        template.SetOrigin(self.original.origin)
        template.SetSpacing(self.original.spacing)
        template.SetDirection(self.original.direction)
        return sitk.DICOMOrient(template, CANONICAL_ORIENTATION)


def to_canonical(volume: Volume) -> tuple[Volume, Reorientation]:
    """Permute and flip the index axes (no interpolation) so that the direction matrix is the
    closest to identity: array[z] is then an axial slice, rows run anterior to posterior and
    columns right to left. Oblique acquisitions keep their obliquity (the axial slice is the
    acquired plane closest to axial)."""
    code = sitk.DICOMOrientImageFilter.GetOrientationFromDirectionCosines(volume.direction)
    reoriented = sitk.DICOMOrient(volume.to_image(), CANONICAL_ORIENTATION)
    return Volume.from_image(reoriented, source=volume.source), Reorientation(volume, code)
