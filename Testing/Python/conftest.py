"""Shared fixtures: small participants made by the project's own simulator.

Test participants start from the simulator's anatomy (DeepMIRLib.simulation: the MNI152
template that nilearn ships, warped and posed as a participant) on a coarse grid, so images
carry real brain structure, not toy blobs, and nothing beside the repository is needed. The
few tests that validate the method against the real 2016 QSM scan in ../shared/data/qsm2016
ask for the `qsm2016_folder` fixture: it skips them where that folder is absent (a fresh
clone) and fails them instead when DEEPMIR_REQUIRE_SHARED_DATA=1 (CI sets it).
"""

from __future__ import annotations

import locale
import os
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from DeepMIRLib.simulation.anatomy import participant_transform, resample_anatomy
from DeepMIRLib.simulation.dipole import forward_field
from DeepMIRLib.simulation.phantom import NUCLEUS_TISSUE, Protocol, swi_grid, tissue_parameters
from DeepMIRLib.volumes import Volume, write_volume

QSM2016 = Path(__file__).resolve().parents[3] / "shared" / "data" / "qsm2016"
QSM2016_FILES = ("chi_cosmos", "phs_tissue", "msk")
REQUIRE_SHARED_DATA = "DEEPMIR_REQUIRE_SHARED_DATA"


@pytest.fixture(scope="session", autouse=True)
def onnx_cache(tmp_path_factory) -> Path:
    """ONNX exports of the tests' models (DeepMIRLib.onnxrt) go to a temporary folder, not
    the user's cache; set in the environment, so Dask worker processes see it too."""
    folder = tmp_path_factory.mktemp("onnx-cache")
    os.environ["DEEPMIR_ONNX_CACHE"] = str(folder)
    return folder


@pytest.fixture(autouse=True)
def process_locale():
    """Put back the locale a test found: SimpleITK's DICOM writer (GDCM), which tests use to
    make series, leaves the process in the C locale, where text read or written without an
    explicit encoding (subprocess output included) is ASCII. DeepMIRLib's own DICOM reading
    restores it itself (test_volumes)."""
    before = locale.setlocale(locale.LC_ALL)
    yield
    locale.setlocale(locale.LC_ALL, before)


@pytest.fixture(scope="session")
def qsm2016_folder() -> Path:
    """../shared/data/qsm2016 (a real scan's local field and COSMOS map), or a skip that
    names what is missing; a failure instead when DEEPMIR_REQUIRE_SHARED_DATA=1."""
    missing = [f"{name}.nii.gz" for name in QSM2016_FILES if not (QSM2016 / f"{name}.nii.gz").is_file()]
    if missing:
        message = f"the real 2016 QSM scan is not at {QSM2016} (missing {', '.join(missing)})"
        if os.environ.get(REQUIRE_SHARED_DATA) == "1":
            pytest.fail(f"{message}, and {REQUIRE_SHARED_DATA}=1 requires it")
        pytest.skip(message)
    return QSM2016


@pytest.fixture(scope="session")
def real_anatomy(qsm2016_folder) -> dict[str, Volume]:
    return load_real_anatomy(qsm2016_folder)


def load_real_anatomy(folder: Path = QSM2016, spacing=(2.0, 2.0, 3.0), size=None) -> dict[str, Volume]:
    """The qsm2016 scan resampled to `spacing` (default 2 x 2 x 3 mm: 85 x 85 x 57 voxels) or
    to a grid of `size` voxels centred on the scan: 'chi' (ppm), 'field' (ppm), 'mask' (0/1),
    as Volumes on one grid."""
    files = {"chi": "chi_cosmos", "field": "phs_tissue", "mask": "msk"}
    images = {name: sitk.ReadImage(str(folder / f"{file}.nii.gz"), sitk.sitkFloat32) for name, file in files.items()}
    reference = images["mask"]
    extent = np.array(reference.GetSize()) * np.array(reference.GetSpacing())
    new_size = size or [round(e / t) for e, t in zip(extent, spacing)]
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


def real_scan_modalities(anatomy: dict[str, Volume], seed: int = 0) -> dict[str, Volume]:
    """SWI-, QSM- and T2-like images of the real scan, made from its COSMOS chi and local
    field (it has no relaxation maps), with noise."""
    rng = np.random.default_rng(seed)
    mask = anatomy["mask"].array
    chi = anatomy["chi"].array
    field = anatomy["field"].array
    magnitude = mask * (1.0 - 2.0 * np.clip(chi, 0, None)) + 0.02
    phase_mask = np.clip(1.0 + field / 0.1, 0.0, 1.0)  # negative phase (paramagnetic) darkens
    swi = magnitude * phase_mask**4 + rng.normal(0, 0.02, mask.shape)
    t2 = mask * (1.0 - 3.0 * np.abs(chi)) + rng.normal(0, 0.02, mask.shape)
    qsm = mask * chi + rng.normal(0, 0.005, mask.shape)
    return _participant_images(anatomy["mask"], swi, qsm, t2, mask)


@pytest.fixture(scope="session")
def anatomy() -> dict[str, Volume]:
    return simulated_anatomy()


def simulated_anatomy(spacing=(2.0, 2.0, 3.0), size=(85, 85, 57), seed: int = 0) -> dict[str, Volume]:
    """A simulated participant's anatomy (seed `seed`) on an axial grid of `size` voxels
    (x, y, z) of `spacing` mm centred on the brain: by default 85 x 85 x 57 voxels of
    2 x 2 x 3 mm, with slices above and below the brain. Volumes on one grid: 'mask' (0/1
    brain), the simulator's tissue maps 'chi' (ppm; deep nuclei at the middle of their
    ranges), 'pd', 'r2s' (1/s) and 't2' (ms), and 'field' (ppm: chi's dipole field, B0 along z)."""
    grid = swi_grid(Protocol(swi_size=tuple(size), swi_spacing=tuple(spacing)))
    warped = resample_anatomy(grid.to_image(), participant_transform(np.random.default_rng(seed)))
    nuclei = {name: float(np.mean(tissue["chi"])) for name, tissue in NUCLEUS_TISSUE.items()}
    maps = tissue_parameters(warped, nuclei)
    volumes = {name: grid.with_array(maps[name]) for name in ("chi", "pd", "r2s", "t2")}
    volumes["field"] = grid.with_array(forward_field(maps["chi"], grid.spacing[::-1]))
    volumes["mask"] = grid.with_array(warped.brain.astype(np.float32))
    return volumes


def make_modalities(anatomy: dict[str, Volume], seed: int = 0) -> dict[str, Volume]:
    """SWI-, QSM- and T2-weighted images of an anatomy (on its grid), with noise. SWI: the
    T2*-weighted magnitude at TE 20 ms, darkened where the field is negative (phase mask to
    the 4th power); T2: spin-echo weighting at TE 100 ms (CSF bright); QSM: chi."""
    rng = np.random.default_rng(seed)
    mask = anatomy["mask"].array
    pd, r2s, t2 = (anatomy[name].array for name in ("pd", "r2s", "t2"))
    phase_mask = np.clip(1.0 + anatomy["field"].array / 0.1, 0.0, 1.0)
    swi = mask * pd * np.exp(-0.020 * r2s) * phase_mask**4 + rng.normal(0, 0.02, mask.shape)
    t2w = mask * pd * np.exp(-100.0 / np.maximum(t2, 1.0)) + rng.normal(0, 0.02, mask.shape)
    qsm = mask * anatomy["chi"].array + rng.normal(0, 0.005, mask.shape)
    return _participant_images(anatomy["mask"], swi, qsm, t2w, mask)


def _participant_images(grid: Volume, swi: np.ndarray, qsm: np.ndarray, t2: np.ndarray, mask: np.ndarray) -> dict[str, Volume]:
    """The images of a participant folder on `grid`: float32 modalities, uint8 brain mask."""
    return {
        "swi": grid.with_array(swi.astype(np.float32)),
        "qsm": grid.with_array(qsm.astype(np.float32)),
        "t2": grid.with_array(t2.astype(np.float32)),
        "brainmask": grid.with_array(mask.astype(np.uint8)),
    }


@pytest.fixture()
def participant_folder(tmp_path, anatomy) -> Path:
    """A participant folder with swi, qsm, t2 and brainmask NIfTI files on one grid."""
    folder = tmp_path / "sub-001"
    for name, volume in make_modalities(anatomy).items():
        write_volume(volume, folder / f"{name}.nii.gz")
    return folder


@pytest.fixture(scope="session")
def slab_cohort(tmp_path_factory):
    """Three simulated slab participants (16 slices, dense lesion load, seed 41)."""
    from DeepMIRLib.cli import main

    out = tmp_path_factory.mktemp("cohort")
    assert main(["simulate", "--n", "3", "--seed", "41", "--slab", "16", "--load", "dense", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def scoring_two_stage_model(tmp_path_factory) -> Path:
    """The default U-Net with an untrained second stage of random but fixed weights (its last
    layer scaled up, so that its scores spread: on slab_cohort's sim-41-0000 it removes some
    candidates and keeps others as CMB or iron at its minimum probability 0.4)."""
    import copy

    from DeepMIRLib.modelfile import load_model, save_model
    from DeepMIRLib.secondstage import SecondStageSpec

    base = load_model("default")
    card = copy.deepcopy(base.card)
    card.second_stage = SecondStageSpec("cnn3d", 4, len(card.inputs) + 1, (9, 20, 20), min_probability={"cmb": 0.4, "iron": 0.4})
    classifier = scoring_classifier(len(card.inputs) + 1, seed=0)
    return save_model(base.network, card, tmp_path_factory.mktemp("scoring") / "scoring", second_stage=classifier)


def scoring_classifier(in_channels: int, seed: int):
    """An untrained CandidateNet (width 4) of random weights fixed by `seed`, its last layer
    scaled up so that its scores spread, in eval mode."""
    import torch

    from DeepMIRLib.secondstage import CandidateNet

    torch.manual_seed(seed)
    classifier = CandidateNet(in_channels, 4)
    with torch.no_grad():
        classifier.head[-1].weight.mul_(20.0)
    return classifier.eval()


@pytest.fixture(scope="session")
def two_classifier_model(tmp_path_factory) -> Path:
    """The default model's classifiers that run at the nominal protocol's echo time (7.5 ms:
    its microbleed classifier, then its iron classifier), as a model that runs them at every
    echo time. Tests of rules between two classifiers (second opinions, one classifier per
    echo-time range) start from it, whichever classifiers the bundled default lists."""
    import copy
    import dataclasses

    from DeepMIRLib.modelfile import load_model
    from DeepMIRLib.secondstage import write_model_copy

    default = load_model("default")
    indices = [index for index, spec in enumerate(default.card.second_stages) if spec.applies_to(7.5)]
    card = copy.deepcopy(default.card)
    card.second_stages = tuple(dataclasses.replace(default.card.second_stages[index], echo_times=None) for index in indices)
    assert [spec.decided_keys() for spec in card.second_stages] == [("cmb",), ("iron",)]
    files = [default.path.parent / default.card.second_stages[index].weights_file for index in indices]
    return write_model_copy(default, card, files, tmp_path_factory.mktemp("two-classifiers") / "two.json")


@pytest.fixture(scope="session")
def unet_only_model(tmp_path_factory) -> Path:
    """The default model's U-Net and card without its second stage (a one-stage model)."""
    import copy

    from DeepMIRLib.modelfile import load_model, save_model

    base = load_model("default")
    card = copy.deepcopy(base.card)
    card.second_stage = None
    return save_model(base.network, card, tmp_path_factory.mktemp("unet-only") / "unet-only")
