"""Volumes and their geometry: reading, writing, checking, reorienting and resampling.

Arrays are numpy in SimpleITK order (z, y, x); every array travels with its geometry
(origin, spacing and direction in LPS patient coordinates, as SimpleITK reports them).
Files are read and written with SimpleITK: NIfTI, NRRD, MetaImage, or a DICOM series folder.
"""

from __future__ import annotations

import locale
import zlib
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import SimpleITK as sitk

from .atomic import atomic_write
from .errors import InputError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, DTypeLike

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
    def from_image(cls, image: sitk.Image, source: object = None) -> Volume:
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

    def with_array(self, array: np.ndarray) -> Volume:
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

    def index_to_lps(self, index_xyz: ArrayLike) -> np.ndarray:
        """Continuous voxel index(es) (x, y, z order, shape (..., 3)) to LPS millimetres."""
        direction = np.asarray(self.direction, dtype=float).reshape(3, 3)
        index = np.asarray(index_xyz, dtype=float)
        return np.asarray(self.origin) + (index * np.asarray(self.spacing)) @ direction.T

    def lps_to_index(self, point_lps: ArrayLike) -> np.ndarray:
        """LPS millimetres (shape (..., 3)) to continuous voxel index (x, y, z order)."""
        direction = np.asarray(self.direction, dtype=float).reshape(3, 3)
        offset = np.asarray(point_lps, dtype=float) - np.asarray(self.origin)
        return (offset @ np.linalg.inv(direction).T) / np.asarray(self.spacing)


def find_image(folder: Path | str, stem: str) -> Path | None:
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


def read_volume(path: Path | str, dtype: DTypeLike = np.float32) -> Volume:
    """Read a 3-D scalar volume: the one way DeepMIR reads an image file or DICOM folder.

    Every failure is an InputError naming the file: missing, unreadable or truncated files
    (a NIfTI file's data is read and counted here, so a cut-short file is refused whatever
    its voxel type: ITK would fill the missing voxels with 0 without a word), complex or
    vector voxels, other than 3 dimensions, geometry that cannot be trusted
    (`check_volume`), NaN or infinite voxels (ITK turns NaN in NIfTI into 0, so NIfTI
    values are taken from the file itself), and values that `dtype` cannot hold exactly
    (`cast_voxels`). `dtype` None keeps the file's voxel type."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    try:
        if path.is_dir():
            volume = _read_dicom_series(path)
        elif path.name.lower().endswith(NIFTI_SUFFIXES):
            volume = _read_nifti(path)
        else:
            volume = _read_with_itk(path)
    except InputError:
        raise
    except RuntimeError as err:  # SimpleITK's errors
        raise InputError(path, f"cannot be read as an image ({itk_error_text(err)})") from None
    except (OSError, EOFError, zlib.error, ValueError) as err:
        raise InputError(path, f"cannot be read as an image ({err})") from None
    volume.source = str(path)
    check_volume(volume, path)
    volume.array = cast_voxels(volume.array, dtype, path)
    return volume


def read_image(path: Path | str) -> sitk.Image:
    """`read_volume` as a SimpleITK image, in the file's voxel type."""
    return read_volume(path, dtype=None).to_image()


def read_labels(path: Path | str, values: Collection[int]) -> Volume:
    """A label map (uint8) whose voxels all hold one of `values`; InputError otherwise
    (values uint8 cannot hold, such as 257, -1 or 1.5, are refused by `read_volume`)."""
    volume = read_volume(path, np.uint8)
    check_label_values(volume.array, values, path)
    return volume


def check_label_values(array: np.ndarray, values: Collection[int], source: object) -> None:
    """Refuse a label map holding values other than `values`."""
    array = np.asarray(array)
    if array.dtype == np.uint8:
        found = np.flatnonzero(np.bincount(array.ravel(), minlength=256))
    else:
        found = np.unique(array)
    unexpected = [v for v in found.tolist() if v not in set(values)]
    if unexpected:
        allowed = ", ".join(str(v) for v in values)
        raise InputError(source, f"holds label values {unexpected[:5]}; only {allowed} are allowed")


def itk_error_text(err: RuntimeError) -> str:
    """The informative line of a SimpleITK error (its last line is often an errno left over
    from another call, such as 'Reason: No such file or directory')."""
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(("Reason:", "Exception thrown", "/"))]
    return (useful or lines or ["unknown error"])[-1]


def _check_pixel_type(dimension: int, components: int, pixel_id: int, path) -> None:
    if pixel_id in (sitk.sitkComplexFloat32, sitk.sitkComplexFloat64):
        raise InputError(path, "holds complex voxels; a real-valued image (e.g. the magnitude) is required")
    if components != 1:
        raise InputError(path, f"has {components} components per voxel; a scalar volume is required")
    if dimension != 3:
        raise InputError(path, f"is a {dimension}-D image; a 3-D volume is required")


def _read_with_itk(path: Path) -> Volume:
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    reader.ReadImageInformation()
    _check_pixel_type(reader.GetDimension(), reader.GetNumberOfComponents(), reader.GetPixelID(), path)
    return Volume.from_image(reader.Execute())


@contextmanager
def _keeping_locale() -> Iterator[None]:
    """GDCM sets the process's locale to "C" while it reads a series and leaves it so; text
    files opened afterwards without an encoding would then be ASCII (a '±' in an evaluation
    summary failed to write). Put back whatever locale the process had."""
    previous = locale.setlocale(locale.LC_ALL)
    try:
        yield
    finally:
        locale.setlocale(locale.LC_ALL, previous)


def _read_dicom_series(folder: Path) -> Volume:
    with _keeping_locale():
        return _read_gdcm_series(folder)


def dicom_series_values(folder: Path | str, tag: str) -> list[str]:
    """The distinct values of the DICOM tag `tag` ("group|element") over the files of the
    series in `folder`, sorted (none when no file has it); InputError when the folder holds
    no series or several, as read_volume."""
    folder = Path(folder)
    with _keeping_locale():
        values = set()
        for name in _series_file_names(folder):
            reader = sitk.ImageFileReader()
            reader.SetFileName(name)
            reader.ReadImageInformation()
            if reader.HasMetaDataKey(tag):
                values.add(reader.GetMetaData(tag).strip())
    return sorted(values)


def _series_file_names(folder: Path) -> tuple[str, ...]:
    """The files of the one DICOM series in `folder`, in GDCM's order; InputError when it holds none or several."""
    series_ids = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder))
    if not series_ids:
        raise InputError(folder, "folder holds no DICOM series")
    if len(series_ids) > 1:
        raise InputError(folder, f"folder holds {len(series_ids)} DICOM series; put each series in its own folder")
    return sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), series_ids[0])


def _read_gdcm_series(folder: Path) -> Volume:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(_series_file_names(folder))
    reader.MetaDataDictionaryArrayUpdateOn()
    image = reader.Execute()
    _check_pixel_type(image.GetDimension(), image.GetNumberOfComponentsPerPixel(), image.GetPixelID(), folder)
    _check_slice_positions(reader, image, folder)
    return Volume.from_image(image)


def _check_slice_positions(reader: sitk.ImageSeriesReader, image: sitk.Image, folder: Path) -> None:
    """Refuse a DICOM series whose slices are not evenly spaced along the slice normal (a
    missing slice, or two acquisitions mixed): ITK would read it at one spacing with only
    a warning, placing every slice after the gap in the wrong place."""
    count = len(reader.GetFileNames())
    if count < 2:
        return
    positions = []
    for index in range(count):
        if not reader.HasMetaDataKey(index, "0020|0032"):
            raise InputError(folder, f"slice {reader.GetFileNames()[index]} has no Image Position (Patient); its place is unknown")
        positions.append([float(v) for v in reader.GetMetaData(index, "0020|0032").split("\\")])
    normal = np.asarray(image.GetDirection(), float).reshape(3, 3)[:, 2]
    gaps = np.diff(np.asarray(positions) @ normal)
    spacing = image.GetSpacing()[2]
    tolerance = max(1e-3, 0.01 * spacing)
    if np.abs(gaps - spacing).max() > tolerance:
        raise InputError(
            folder,
            f"slices are not evenly spaced: gaps from {gaps.min():.3f} to {gaps.max():.3f} mm along the slice normal "
            f"(a missing slice, or several acquisitions in one series)",
        )


NIFTI_SUFFIXES = (".nii", ".nii.gz")


def _read_nifti(path: Path) -> Volume:
    """ITK reads the header (geometry, voxel type: what DeepMIR has always used); the voxels
    come from the file's own bytes, counted against the header, with NaN kept as NaN."""
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    reader.ReadImageInformation()
    _check_pixel_type(reader.GetDimension(), reader.GetNumberOfComponents(), reader.GetPixelID(), path)
    data = _nifti_bytes(path)
    header = _nifti_header(data, path)
    size = reader.GetSize()
    dtype = header.get_data_dtype()
    offset = int(header["vox_offset"])
    count = int(np.prod(size))
    needed = offset + count * dtype.itemsize
    if len(data) < needed:
        raise InputError(path, f"is truncated: its header describes {count} voxels ({needed} bytes) but the file holds {len(data)} bytes")
    array = np.frombuffer(data, dtype, count, offset).reshape(size[::-1])
    slope, intercept = header.get_slope_inter()
    if slope is not None and (slope != 1 or intercept != 0):  # ITK scales into float32 too
        array = array.astype(np.float32) * np.float32(slope) + np.float32(intercept or 0)
    itk_dtype = sitk.GetArrayViewFromImage(sitk.Image([1, 1, 1], reader.GetPixelID())).dtype
    volume = Volume(array.astype(itk_dtype.newbyteorder("="), copy=False), reader.GetOrigin(), reader.GetSpacing(), reader.GetDirection())
    _check_nifti_geometry(header, volume, path)
    return volume


def _nifti_bytes(path: Path) -> bytearray:
    """The whole (decompressed) file. A gzip stream that ends before its end marker is a
    truncated file; bytes after the last gzip member are ignored and a file named .nii.gz
    that is not compressed is read as it is (as ITK does)."""
    gzip_magic = b"\x1f\x8b"
    with open(path, "rb") as handle:
        if handle.read(2) != gzip_magic:
            handle.seek(0)
            return bytearray(handle.read())
        handle.seek(0)
        data = bytearray()
        decompressor = zlib.decompressobj(wbits=31)
        for block in iter(lambda: handle.read(1 << 20), b""):
            while block:
                if decompressor.eof:  # the member ended: another one follows, or trailing bytes
                    if block[:2] != gzip_magic:
                        return data
                    decompressor = zlib.decompressobj(wbits=31)
                data += decompressor.decompress(block)
                block = decompressor.unused_data if decompressor.eof else b""
    if not decompressor.eof:
        raise InputError(path, "is truncated: its gzip stream ends before its end marker")
    return data


def _nifti_header(data: bytearray, path: Path):
    import nibabel
    from nibabel.spatialimages import HeaderDataError

    try:  # check=False: nibabel's checks would also "fix" fields (pixdim 0 to 1) without a word
        header = nibabel.Nifti1Header(bytes(data[:348]), check=False)
    except (HeaderDataError, ValueError) as err:
        raise InputError(path, f"has a damaged NIfTI header ({err})") from None
    if int(header["sizeof_hdr"]) != 348 or header["magic"].item() not in (b"n+1", b"ni1"):
        raise InputError(path, "has a damaged NIfTI header (wrong size or magic)")
    return header


def _check_nifti_geometry(header, volume: Volume, path: Path) -> None:
    """Refuse a NIfTI header whose geometry ITK had to guess or alter: voxel sizes (pixdim)
    that are 0 or not numbers (ITK reads them as 1 mm), or a qform and sform that disagree
    with each other or with what ITK made of them."""
    pixdim = np.asarray(header["pixdim"][1:4], float)
    if not (np.isfinite(pixdim).all() and (pixdim > 0).all()):
        raise InputError(path, f"has voxel sizes (pixdim) {pixdim.tolist()}; positive numbers are required")
    itk_affine = np.eye(4)
    itk_affine[:3, :3] = np.diag([-1.0, -1.0, 1.0]) @ np.asarray(volume.direction, float).reshape(3, 3) @ np.diag(volume.spacing)
    itk_affine[:3, 3] = np.array([-1.0, -1.0, 1.0]) * np.asarray(volume.origin, float)
    spacing = float(max(volume.spacing))
    for name, (affine, code) in {"sform": header.get_sform(coded=True), "qform": header.get_qform(coded=True)}.items():
        if code and not (np.allclose(affine[:3, :3], itk_affine[:3, :3], rtol=0, atol=1e-3 * spacing)
                         and np.allclose(affine[:3, 3], itk_affine[:3, 3], rtol=0, atol=1e-2)):
            raise InputError(
                path,
                f"its {name} does not give the geometry ITK reads from the file (sform and qform disagree, or the {name} "
                "is sheared or scaled); fix the header (e.g. with nibabel or fslorient) so that it states one geometry",
            )


# --- checks on voxels and geometry ---------------------------------------------------------

MIN_VOXELS_PER_AXIS = 4  # smoothing (brain mask) and registration need at least this many


def check_volume(volume: Volume, source: object = None) -> None:
    """Refuse a volume DeepMIR cannot compute on without guessing: not 3-D, fewer than
    MIN_VOXELS_PER_AXIS voxels along an axis, untrustworthy geometry (`check_geometry`) or
    voxels that are not finite real numbers (`check_voxels`). Files are checked by
    `read_volume`; in-memory volumes (Slicer nodes, the datastore's API) are checked with this."""
    source = source if source is not None else volume.source
    if volume.array.ndim != 3:
        raise InputError(source, f"is a {volume.array.ndim}-D array; a 3-D volume is required")
    if min(volume.array.shape) < MIN_VOXELS_PER_AXIS:
        raise InputError(source, f"has size {volume.array.shape[::-1]} (x, y, z); a volume needs at least {MIN_VOXELS_PER_AXIS} voxels along every axis")
    check_geometry(volume, source)
    check_voxels(volume.array, source)


def check_geometry(volume: Volume, source: object = None) -> None:
    """Refuse voxel sizes that are not positive finite numbers, an origin that is not finite,
    and a direction matrix that is not orthonormal (sheared or scaled axes): NIfTI, DICOM and
    Slicer cannot represent such a grid, so outputs would silently be written on another one."""
    source = source if source is not None else volume.source
    spacing = np.asarray(volume.spacing, float)
    if spacing.shape != (3,) or not (np.isfinite(spacing).all() and (spacing > 0).all()):
        raise InputError(source, f"has voxel size {tuple(spacing.tolist())}; positive finite numbers (mm) are required")
    origin = np.asarray(volume.origin, float)
    if origin.shape != (3,) or not np.isfinite(origin).all():
        raise InputError(source, f"has origin {tuple(origin.tolist())}; finite numbers (mm) are required")
    direction = np.asarray(volume.direction, float)
    if direction.size != 9 or not np.isfinite(direction).all() or not np.allclose(direction.reshape(3, 3).T @ direction.reshape(3, 3), np.eye(3), atol=1e-4):
        raise InputError(
            source,
            f"has a direction matrix that is not orthonormal ({np.round(direction, 4).tolist()}): its axes are sheared or "
            "scaled, which NIfTI, DICOM and Slicer cannot represent; resample it onto an orthogonal grid first",
        )


def check_voxels(array: np.ndarray, source: object) -> None:
    """Refuse voxels that are not finite real numbers (complex, non-numeric, NaN, infinite)."""
    if np.iscomplexobj(array):
        raise InputError(source, "holds complex voxels; a real-valued image (e.g. the magnitude) is required")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise InputError(source, f"holds voxels of type {array.dtype}; numbers are required")
    if np.issubdtype(array.dtype, np.floating):
        finite = np.isfinite(array)
        if not finite.all():
            raise InputError(source, f"contains {int(finite.size - finite.sum())} NaN or infinite voxels")


def cast_voxels(array: np.ndarray, dtype: DTypeLike, source: object) -> np.ndarray:
    """`array` as `dtype`, refusing values the cast would change: a label map or mask read as
    uint8 must hold whole numbers from 0 to 255 (257 would become 1, -1 255 and 1.5 1),
    and float32 must be able to hold every value. `dtype` None leaves the array as it is."""
    if dtype is None or array.dtype == np.dtype(dtype):
        return array
    dtype = np.dtype(dtype)
    if array.size and np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        low, high = array.min(), array.max()
        fractional = np.issubdtype(array.dtype, np.floating) and not np.array_equal(array, np.round(array))
        if low < info.min or high > info.max or fractional:
            example = low if low < info.min else high if high > info.max else array[array != np.round(array)].flat[0]
            raise InputError(source, f"holds values such as {example.item()} where whole numbers from {info.min} to {info.max} are expected (a label map or mask)")
    narrowing = np.issubdtype(dtype, np.floating) and np.issubdtype(array.dtype, np.floating) and array.dtype.itemsize > dtype.itemsize
    if array.size and narrowing and float(np.abs(array).max()) > np.finfo(dtype).max:
        raise InputError(source, f"holds values beyond the range of {dtype}")
    return array.astype(dtype, copy=False)


def write_volume(volume: Volume | sitk.Image, path: Path | str, compress: bool = True) -> Path:
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
    interpolator: int = sitk.sitkLinear,
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
