"""Shared fixtures: small participants built from the real in-vivo scan in ../shared/data/qsm2016.

Until the simulator exists, test participants come from that real anatomy: its COSMOS map
serves as QSM, an SWI-like image is made from its tissue field (Haacke phase mask, 4th
power) and a T2-like image from its mask and susceptibility, so images carry real brain
structure, not toy blobs. The data stays in ../shared; nothing of it is copied into the repo.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from DeepMIRLib.volumes import Volume, write_volume

QSM2016 = Path(__file__).resolve().parents[3] / "shared" / "data" / "qsm2016"


def _load(name: str) -> sitk.Image:
    path = QSM2016 / f"{name}.nii.gz"
    if not path.exists():
        pytest.fail(f"test data not found at {path}: the tests need ../shared/data/qsm2016 beside the repository")
    return sitk.ReadImage(str(path), sitk.sitkFloat32)


@pytest.fixture(scope="session")
def real_anatomy() -> dict[str, Volume]:
    return load_real_anatomy()


def load_real_anatomy(spacing=(2.0, 2.0, 3.0), size=None) -> dict[str, Volume]:
    """The qsm2016 scan resampled to `spacing` (default 2 x 2 x 3 mm: 85 x 85 x 57 voxels) or
    to a grid of `size` voxels centred on the scan: 'chi' (ppm), 'field' (ppm), 'mask' (0/1),
    as Volumes on one grid."""
    images = {name: _load(file) for name, file in (("chi", "chi_cosmos"), ("field", "phs_tissue"), ("mask", "msk"))}
    reference = images["mask"]
    extent = np.array(reference.GetSize()) * np.array(reference.GetSpacing())
    new_size = size or [int(round(e / t)) for e, t in zip(extent, spacing)]
    grid = sitk.Image([int(n) for n in new_size], sitk.sitkFloat32)
    grid.SetSpacing(tuple(float(t) for t in spacing))
    grid.SetDirection(reference.GetDirection())
    # centre the new grid on the scan's centre
    centre_index = (np.array(reference.GetSize()) - 1) / 2
    centre = np.array(reference.TransformContinuousIndexToPhysicalPoint(centre_index.tolist()))
    direction = np.array(reference.GetDirection()).reshape(3, 3)
    grid.SetOrigin(tuple(centre - direction @ ((np.array(new_size) - 1) / 2 * np.array(spacing))))
    out = {}
    for name, image in images.items():
        smoothed = sitk.SmoothingRecursiveGaussian(image, 0.5) if name != "mask" else image
        resampled = sitk.Resample(smoothed, grid, sitk.Transform(), sitk.sitkLinear, 0.0, sitk.sitkFloat32)
        out[name] = Volume.from_image(resampled, source=f"qsm2016/{name}")
    out["mask"].array = (out["mask"].array > 0.5).astype(np.float32)
    return out


def make_modalities(anatomy: dict[str, Volume], seed: int = 0) -> dict[str, Volume]:
    """SWI-, QSM- and T2-like images of the real anatomy (SWI grid), with noise."""
    rng = np.random.default_rng(seed)
    mask = anatomy["mask"].array
    chi = anatomy["chi"].array
    field = anatomy["field"].array
    magnitude = mask * (1.0 - 2.0 * np.clip(chi, 0, None)) + 0.02
    phase_mask = np.clip(1.0 + field / 0.1, 0.0, 1.0)  # negative phase (paramagnetic) darkens
    swi = magnitude * phase_mask**4 + rng.normal(0, 0.02, mask.shape)
    t2 = mask * (1.0 - 3.0 * np.abs(chi)) + rng.normal(0, 0.02, mask.shape)
    qsm = mask * chi + rng.normal(0, 0.005, mask.shape)
    grid = anatomy["mask"]
    return {
        "swi": grid.with_array(swi.astype(np.float32)),
        "qsm": grid.with_array(qsm.astype(np.float32)),
        "t2": grid.with_array(t2.astype(np.float32)),
        "brainmask": grid.with_array(mask.astype(np.uint8)),
    }


@pytest.fixture()
def participant_folder(tmp_path, real_anatomy) -> Path:
    """A participant folder with swi, qsm, t2 and brainmask NIfTI files on one grid."""
    folder = tmp_path / "sub-001"
    for name, volume in make_modalities(real_anatomy).items():
        write_volume(volume, folder / f"{name}.nii.gz")
    return folder


@pytest.fixture(scope="session")
def slab_cohort(tmp_path_factory):
    """Three simulated slab participants (16 slices, dense lesion load, seed 41)."""
    from DeepMIRLib.cli import main

    out = tmp_path_factory.mktemp("cohort")
    assert main(["simulate", "--n", "3", "--seed", "41", "--slab", "16", "--load", "dense", "--out", str(out)]) == 0
    return out
