"""Reading, writing, reorienting and resampling volumes with real files."""

import locale

import numpy as np
import pytest
import SimpleITK as sitk

from DeepMIRLib.atomic import write_text_atomic
from DeepMIRLib.errors import InputError
from DeepMIRLib.volumes import (
    Volume,
    check_overlap,
    find_image,
    overlap_fraction,
    read_volume,
    resample_onto,
    same_grid,
    to_canonical,
    write_volume,
)


def _rotation(axis: int, degrees: float) -> np.ndarray:
    a = np.deg2rad(degrees)
    c, s = np.cos(a), np.sin(a)
    i, j = [k for k in range(3) if k != axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


# index axes mostly along S, -L and P (a sagittal-ish acquisition), tilted by 10 and 7 degrees
OBLIQUE = _rotation(0, 10) @ _rotation(2, 7) @ np.array([[0, -1, 0], [0, 0, 1], [1, 0, 0]], float)


@pytest.fixture()
def oblique_volume(anatomy):
    swi = anatomy["chi"]
    return Volume(swi.array.copy(), (12.5, -30.0, 44.0), (0.8, 1.2, 2.5), tuple(OBLIQUE.flatten()), "oblique")


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii", ".nrrd", ".mha"])
def test_write_and_read_keep_array_and_geometry(tmp_path, oblique_volume, suffix):
    path = write_volume(oblique_volume, tmp_path / f"swi{suffix}")
    back = read_volume(path)
    assert np.array_equal(back.array, oblique_volume.array)
    assert np.allclose(back.origin, oblique_volume.origin, atol=1e-4)
    assert np.allclose(back.spacing, oblique_volume.spacing, atol=1e-6)
    assert np.allclose(back.direction, oblique_volume.direction, atol=1e-6)
    assert find_image(tmp_path, "swi") == path
    assert [p.name for p in tmp_path.iterdir()] == [path.name], "no temporary files left"


def test_dicom_series_folder(tmp_path, anatomy):
    """An axial DICOM series (int16, anisotropic) written slice by slice, read as a folder."""
    volume = anatomy["mask"]
    image = sitk.Cast(volume.to_image() * 1000, sitk.sitkInt16)
    image.SetDirection((1, 0, 0, 0, 1, 0, 0, 0, 1))
    image.SetOrigin((-80.0, -90.0, 20.0))
    folder = tmp_path / "swi"
    folder.mkdir()
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    series_uid = "1.2.826.0.1.3680043.2.1125.1.4242"
    for z in range(image.GetDepth()):
        slice_image = image[:, :, z]
        position = image.TransformIndexToPhysicalPoint((0, 0, z))
        for tag, value in {
            "0008|0060": "MR",
            "0020|000d": "1.2.826.0.1.3680043.2.1125.1.4241",
            "0020|000e": series_uid,
            "0020|0013": str(z + 1),
            "0020|0032": "\\".join(f"{v:.6f}" for v in position),
            "0020|0037": "1\\0\\0\\0\\1\\0",
            "0018|0050": f"{image.GetSpacing()[2]:.6f}",
            "0028|0030": f"{image.GetSpacing()[1]:.6f}\\{image.GetSpacing()[0]:.6f}",
        }.items():
            slice_image.SetMetaData(tag, value)
        writer.SetFileName(str(folder / f"slice{z:03d}.dcm"))
        writer.Execute(slice_image)
    locale.setlocale(locale.LC_ALL, "C.UTF-8")  # the writer above left GDCM's "C" locale behind
    back = read_volume(folder)
    assert locale.setlocale(locale.LC_ALL) == "C.UTF-8"  # reading does not
    assert back.shape == volume.shape
    write_text_atomic(tmp_path / "summary.md", "0.81 ± 0.10\n")  # and text is UTF-8 whatever the locale
    assert (tmp_path / "summary.md").read_text(encoding="utf-8") == "0.81 ± 0.10\n"
    assert np.allclose(back.spacing, volume.spacing, atol=1e-4)
    assert np.allclose(back.origin, (-80.0, -90.0, 20.0), atol=1e-4)
    assert np.array_equal(back.array, sitk.GetArrayFromImage(image).astype(np.float32))
    assert find_image(tmp_path, "swi") == folder


def test_errors_name_the_file_and_the_problem(tmp_path, oblique_volume):
    with pytest.raises(InputError, match="nowhere.nii.gz: file not found"):
        read_volume(tmp_path / "nowhere.nii.gz")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no DICOM series"):
        read_volume(empty)
    garbage = tmp_path / "garbage.nii.gz"
    garbage.write_bytes(b"not an image")
    with pytest.raises(InputError, match="cannot be read"):
        read_volume(garbage)
    vector = tmp_path / "vector.nrrd"
    sitk.WriteImage(sitk.Compose([oblique_volume.to_image()] * 3), str(vector))
    with pytest.raises(InputError, match="3 components"):
        read_volume(vector)
    nan = oblique_volume.with_array(oblique_volume.array.copy())
    nan.array[3, 4, 5] = np.inf
    write_volume(nan, tmp_path / "inf.mha")
    with pytest.raises(InputError, match="1 NaN or infinite"):
        read_volume(tmp_path / "inf.mha")


def test_failed_write_leaves_nothing(tmp_path, oblique_volume):
    with pytest.raises(RuntimeError):
        write_volume(oblique_volume, tmp_path / "swi.unknown-format")
    assert list(tmp_path.iterdir()) == []


def test_canonical_orientation_is_axial_and_restores_exactly(oblique_volume):
    canonical, reorientation = to_canonical(oblique_volume)
    direction = np.array(canonical.direction).reshape(3, 3)
    # each index axis is closest to +L, +P, +S in turn: axial slices are array[z]
    assert np.array_equal(np.abs(direction).argmax(axis=0), [0, 1, 2])
    assert np.all(np.diag(direction) > 0.9)
    # the same voxels, only permuted and flipped: patient positions agree
    index = np.array([10, 20, 30])  # (i, j, k) in the canonical volume
    point = canonical.index_to_lps(index)
    original_index = np.round(oblique_volume.lps_to_index(point)).astype(int)
    assert canonical.array[index[2], index[1], index[0]] == oblique_volume.array[original_index[2], original_index[1], original_index[0]]
    assert np.array_equal(reorientation.restore(canonical.array), oblique_volume.array)


def test_overlap_checks(anatomy):
    swi = anatomy["mask"]
    shifted = Volume(swi.array, tuple(np.add(swi.origin, (40.0, 0, 0))), swi.spacing, swi.direction, "t2.nii.gz")
    assert 0.4 < overlap_fraction(shifted, swi) < 0.9
    check_overlap(shifted, swi)
    far = Volume(swi.array, tuple(np.add(swi.origin, (500.0, 0, 0))), swi.spacing, swi.direction, "t2.nii.gz")
    assert overlap_fraction(far, swi) == 0
    with pytest.raises(InputError, match="t2.nii.gz: does not overlap"):
        check_overlap(far, swi)


def test_resampling_keeps_physical_positions(oblique_volume):
    blob = oblique_volume.with_array(np.zeros(oblique_volume.shape, np.float32))
    blob.array[20:23, 30:33, 40:43] = 1.0
    centre = blob.index_to_lps([41, 31, 21])
    # another grid: axial, 0.5 mm isotropic, flipped in x and y, 20 mm wide around the blob
    target = Volume(np.zeros((40, 40, 40), np.float32), tuple(np.asarray(centre) - [-10.0, -10.0, 10.0]), (0.5, 0.5, 0.5), (-1, 0, 0, 0, -1, 0, 0, 0, 1))
    resampled = resample_onto(blob, target)
    assert not same_grid(resampled, blob) and same_grid(resampled, target)
    z, y, x = np.nonzero(resampled.array > 0)
    weights = resampled.array[z, y, x]
    found = target.index_to_lps([np.average(x, weights=weights), np.average(y, weights=weights), np.average(z, weights=weights)])
    assert np.linalg.norm(found - centre) < 0.1


def test_written_files_get_the_usual_permissions(tmp_path, oblique_volume):
    import os
    import stat

    path = write_volume(oblique_volume, tmp_path / "swi.nii.gz")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
