"""Hostile input and interruptions (issue 14): every case must end in a clear InputError (or,
on the command line, one line on stderr and exit status 2) before anything is written, or,
for kills, leave a state that readers see as the previous or the next version.

Each test is named after the cause it covers (letters of issue 14: A reader errors, B
truncation, C1-C8 tracebacks, D geometry, E complex, G datastore kill, H datastore argument
checks, J store root, K index keys, L unverified weights, M NaN weights, N label casts,
O options, P checkpoint kill, Q case ids and leftovers). Cause F (re-running a cohort into
an existing output) belongs to the cohort runner and its tests (issue 13).

The helpers tell the two ways a case can get through apart: "SILENT" (accepted, exit 0, a
wrong or inconsistent result) and "TRACEBACK" (any exception but InputError, exit status
other than 2). Only the public entry points are used, so the suite runs against older
versions too and counts what they let through.
"""

from __future__ import annotations

import copy
import dataclasses
import errno
import gzip
import json
import os
import re
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
import torch

from DeepMIRLib.atomic import atomic_directory
from DeepMIRLib.cli import main
from DeepMIRLib.datastore import Datastore, content_sha256
from DeepMIRLib.errors import InputError
from DeepMIRLib.modelfile import ModelCard, load_model, read_card, save_model, sha256_of
from DeepMIRLib.pipeline import ParticipantVolumes, detect
from DeepMIRLib.training import Trainer, TrainingConfig, find_training_cases
from DeepMIRLib.unet import UNet2D
from DeepMIRLib.volumes import Volume, read_volume, write_volume

IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
GRID = {"origin": (-12.0, -14.0, -6.0), "spacing": (1.0, 1.0, 1.5), "direction": IDENTITY}
SHAPE = (8, 28, 24)  # z, y, x: small enough for CI, big enough for smoothing and the U-Net


# --- helpers ---------------------------------------------------------------------------------

def refused(call, match: str | None = None) -> InputError:
    """The InputError `call()` raises (its message matching `match`); fails as SILENT when it
    raises nothing, as TRACEBACK when it raises anything else."""
    try:
        call()
    except InputError as err:
        assert match is None or re.search(match, str(err)), f"refused, but with another message: {err}"
        return err
    except Exception as err:  # noqa: BLE001 - that is what this helper reports
        pytest.fail(f"TRACEBACK: {type(err).__name__}: {str(err)[:300]}")
    pytest.fail("SILENT: accepted without an error")


def run_cli(argv, capsys) -> tuple[int, str]:
    """Exit status and stderr of `deepmir ARGV` run in this process."""
    capsys.readouterr()
    try:
        status = main([str(a) for a in argv])
    except SystemExit as exit_:  # argparse
        status = exit_.code
    except Exception as err:  # noqa: BLE001
        pytest.fail(f"TRACEBACK: {type(err).__name__}: {str(err)[:300]}")
    return status, capsys.readouterr().err


def cli_refuses(argv, capsys, match: str | None = None) -> str:
    """Stderr of a command that must fail with exit status 2 and a one-line message."""
    status, err = run_cli(argv, capsys)
    assert status != 0, f"SILENT: exit 0 for deepmir {' '.join(map(str, argv))}"
    assert status == 2 and "Traceback" not in err and "unexpected error" not in err, f"TRACEBACK: exit {status}: {err[-400:]}"
    assert match is None or re.search(match, err), f"refused, but with another message: {err[-400:]}"
    return err


def swi_like(shape=SHAPE, seed: int = 0, value: float | None = None) -> np.ndarray:
    """A bright ellipsoid 'brain' with two dark spots and noise (float32), or a constant."""
    if value is not None:
        return np.full(shape, value, np.float32)
    z, y, x = np.indices(shape, dtype=np.float32)
    centre = (np.array(shape) - 1) / 2
    inside = ((z - centre[0]) / (shape[0] / 2)) ** 2 + ((y - centre[1]) / (shape[1] / 2.6)) ** 2 + ((x - centre[2]) / (shape[2] / 2.6)) ** 2 < 1
    array = np.where(inside, 1.0, 0.05) + np.random.default_rng(seed).normal(0, 0.02, shape)
    array[shape[0] // 2, shape[1] // 2, shape[2] // 2 - 2] = 0.1
    array[(shape[0] + 1) // 2, shape[1] // 2 + 3, shape[2] // 2 + 3] = 0.1
    return array.astype(np.float32)


def labels_like(shape=SHAPE) -> np.ndarray:
    labels = np.zeros(shape, np.uint8)
    labels[4, 12:14, 10:12] = 1
    labels[3, 16:18, 14:17] = 2
    return labels


def volume(array, **geometry) -> Volume:
    return Volume(np.asarray(array), **{**GRID, **geometry})


def write(path: Path, array, **geometry) -> Path:
    return write_volume(volume(array, **geometry), path)


def leftovers(folder: Path) -> list[str]:
    """Hidden files or folders anywhere under `folder`: what an interrupted write leaves."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*"))


def assert_nothing_written(folder: Path) -> None:
    assert not folder.exists() or not any(folder.iterdir()), f"SILENT: written before refusing: {sorted(os.listdir(folder))}"


# --- fixtures --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """A multi-class SWI-only U-Net of base width 2 (untrained: these tests check refusals)."""
    torch.manual_seed(0)
    network = UNet2D(1, 2, base_width=2)
    card = ModelCard.for_network(network, "tiny", "0.0.1", "multiclass", ["swi"])
    return save_model(network, card, tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(scope="module")
def participant(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("participant")
    write(folder / "swi.nii.gz", swi_like())
    write(folder / "brainmask.nii.gz", (swi_like() > 0.5).astype(np.uint8))
    write(folder / "labels.nii.gz", labels_like())
    return folder


def test_control_the_good_input_behind_the_cases_runs(tiny_model, participant, tmp_path, capsys):
    """Control: the good input behind every refusal below runs (so refusals are the bad part's)."""
    status, err = run_cli(["predict", "--swi", participant / "swi.nii.gz", "--mask", participant / "brainmask.nii.gz",
                           "--model", tiny_model, "--out", tmp_path / "out"], capsys)
    assert status == 0, err
    shutil.copytree(participant, tmp_path / "reference" / "p1")
    (tmp_path / "prediction" / "p1").mkdir(parents=True)
    shutil.copy(tmp_path / "out" / "labels.nii.gz", tmp_path / "prediction" / "p1" / "labels.nii.gz")
    status, err = run_cli(["evaluate", "--prediction", tmp_path / "prediction", "--reference", tmp_path / "reference",
                           "--out", tmp_path / "evaluation"], capsys)
    assert status == 0, err


# --- A: reader errors become InputErrors naming the file --------------------------------------

def _truncated_copy(source: Path, target: Path, fraction: float = 0.8) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * fraction)])
    return target


@pytest.mark.parametrize("case", ["garbage.nii.gz", "empty.nii.gz", "garbage.nii", "garbage.nrrd", "garbage.mha",
                                  "truncated.mha", "truncated.nrrd", "header-only.nii.gz", "no-dicom-folder"])
def test_A_unreadable_files_are_refused_naming_the_file(tmp_path, case):
    path = tmp_path / case
    if case.startswith("garbage"):
        path.write_bytes(b"this is not an image\n" * 10)
    elif case.startswith("empty"):
        path.write_bytes(b"")
    elif case.startswith("truncated"):
        _truncated_copy(write(tmp_path / f"whole{path.suffix}", swi_like()), path)
    elif case == "header-only.nii.gz":
        path.write_bytes(gzip.compress(gzip.decompress(write(tmp_path / "whole.nii.gz", swi_like()).read_bytes())[:352]))
    else:
        path.mkdir()
    err = refused(lambda: read_volume(path))
    assert case in str(err) and "No such file" not in str(err)


def test_A_an_uncompressed_file_named_nii_gz_is_read_as_itk_reads_it(tmp_path):
    original = write(tmp_path / "swi.nii.gz", swi_like())
    plain = tmp_path / "plain.nii.gz"
    plain.write_bytes(gzip.decompress(original.read_bytes()))
    assert np.array_equal(read_volume(plain).array, sitk.GetArrayFromImage(sitk.ReadImage(str(plain))))


# --- B: truncation is found whatever the voxel type ------------------------------------------

@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32])
@pytest.mark.parametrize("form", ["cut .nii", "cut .nii.gz", "gzip of a cut .nii"])
def test_B_truncated_nifti_is_refused_for_every_voxel_type(tmp_path, dtype, form):
    whole = write(tmp_path / "whole.nii.gz", (swi_like() * 100).astype(dtype))
    raw = gzip.decompress(whole.read_bytes())
    if form == "cut .nii":
        path = tmp_path / "cut.nii"
        path.write_bytes(raw[:-200])
    elif form == "cut .nii.gz":
        path = _truncated_copy(whole, tmp_path / "cut.nii.gz", 0.9)
    else:
        path = tmp_path / "cut.nii.gz"
        path.write_bytes(gzip.compress(raw[:-200]))
    refused(lambda: read_volume(path), "truncated")


@pytest.mark.parametrize("command", ["predict", "evaluate", "train"])
def test_B_truncated_files_stop_every_command_before_it_writes(tmp_path, tiny_model, participant, capsys, command):
    cohort = tmp_path / "cohort" / "p1"
    shutil.copytree(participant, cohort)
    broken = "swi.nii.gz" if command == "predict" else "labels.nii.gz"
    whole = (swi_like() * 1000).astype(np.int16) if command == "predict" else labels_like()
    _truncated_copy(write(tmp_path / "whole.nii.gz", whole), cohort / broken, 0.9)
    out = tmp_path / "out"
    if command == "predict":
        argv = ["predict", "--swi", cohort / "swi.nii.gz", "--model", tiny_model, "--out", out]
    elif command == "evaluate":
        (tmp_path / "prediction" / "p1").mkdir(parents=True)
        shutil.copy(participant / "labels.nii.gz", tmp_path / "prediction" / "p1" / "labels.nii.gz")
        argv = ["evaluate", "--prediction", tmp_path / "prediction", "--reference", tmp_path / "cohort", "--out", out]
    else:
        argv = ["train", "--data", tmp_path / "cohort", "--out", out / "model", "--inputs", "swi", "--epochs", "1",
                "--width", "2", "--no-cache", "--device", "cpu"]
    cli_refuses(argv, capsys, "truncated")
    assert_nothing_written(out)


# --- C1, C2: blank images and too few slices --------------------------------------------------

@pytest.mark.parametrize("case", ["all zero", "constant 7", "2 slices", "3 slices"])
def test_C1_C2_blank_images_and_too_few_slices_are_refused(tmp_path, tiny_model, capsys, case):
    if case.endswith("slices"):
        array = swi_like(shape=(int(case[0]), 28, 24))
    else:
        array = swi_like(value=0.0 if case == "all zero" else 7.0)
    swi = write(tmp_path / "swi.nii.gz", array)
    cli_refuses(["predict", "--swi", swi, "--model", tiny_model, "--out", tmp_path / "out"], capsys,
                "blank or constant" if "slices" not in case else "at least 4 voxels")
    assert not (tmp_path / "out").exists()


def test_C1_a_constant_image_in_memory_is_refused(tiny_model):
    participant = ParticipantVolumes("p1", volume(swi_like(value=3.0)))
    refused(lambda: detect(participant, load_model(tiny_model), device="cpu"), "blank or constant")


# --- C3, O: options that would run and give wrong or empty output -----------------------------

@pytest.mark.parametrize("option", [
    ["--canvas", "100x100"], ["--canvas", "1x2x3"], ["--canvas", "0x0"], ["--device", "bogus"], ["--batch-size", "0"],
    ["--batch-size", "-1"], ["--min-probability", "2"], ["--min-probability", "nan"], ["--threshold", "nan"],
    ["--threshold", "0"], ["--min-size", "0"], ["--min-size", "1.5"],
])
def test_C3_O_predict_options_are_refused_by_the_parser(tmp_path, participant, tiny_model, capsys, option):
    cli_refuses(["predict", "--swi", participant / "swi.nii.gz", "--model", tiny_model, "--out", tmp_path / "out", *option],
                capsys, re.escape(option[0]))
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_C3_cuda_without_a_gpu_is_refused(tmp_path, participant, tiny_model, capsys):
    cli_refuses(["predict", "--swi", participant / "swi.nii.gz", "--model", tiny_model, "--out", tmp_path / "out",
                 "--device", "cuda"], capsys, "no CUDA device")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option", [
    ["--tolerance-cmb", "-1"], ["--tolerance-cmb", "nan"], ["--tolerance-iron", "0"], ["--tolerance-iron", "inf"],
])
def test_O_evaluate_tolerances_are_refused(tmp_path, participant, capsys, option):
    cli_refuses(["evaluate", "--prediction", participant.parent, "--reference", participant.parent, "--out", tmp_path / "e", *option],
                capsys, re.escape(option[0]))


@pytest.mark.parametrize("option", [
    ["--width", "0"], ["--width", "100000"], ["--copies", "-1"], ["--learning-rate", "nan"], ["--learning-rate", "0"],
    ["--epochs", "0"], ["--dice-weight", "-1"], ["--batch-size", "0"], ["--crop", "33"], ["--mimic-fraction", "2"],
    ["--seed", "-1"], ["--threads", "-2"],
])
def test_C8_O_training_options_are_refused(tmp_path, participant, capsys, option):
    cli_refuses(["train", "--data", participant.parent, "--out", tmp_path / "m", "--no-cache", *option], capsys, re.escape(option[0]))
    assert not list(tmp_path.glob("m*"))


@pytest.mark.parametrize("call", ["detect batch_size -1", "detect canvas 100x100", "TrainingConfig epochs 0",
                                  "TrainingConfig learning_rate nan"])
def test_O_the_library_refuses_the_same_values(tiny_model, call):
    participant = ParticipantVolumes("p1", volume(swi_like()))
    calls = {
        "detect batch_size -1": lambda: detect(participant, load_model(tiny_model), device="cpu", batch_size=-1),
        "detect canvas 100x100": lambda: detect(participant, load_model(tiny_model), device="cpu", canvas=(100, 100)),
        "TrainingConfig epochs 0": lambda: TrainingConfig(inputs=("swi",), epochs=0),
        "TrainingConfig learning_rate nan": lambda: TrainingConfig(inputs=("swi",), learning_rate=float("nan")),
    }
    refused(calls[call])


# --- C4: output folders that cannot be written -------------------------------------------------

def test_C4_an_output_folder_that_is_a_file_is_refused_before_any_work(tmp_path, participant, tiny_model, capsys):
    out = tmp_path / "out"
    out.write_text("a file")
    cli_refuses(["predict", "--swi", participant / "swi.nii.gz", "--model", tiny_model, "--out", out], capsys, "is a file")
    cli_refuses(["evaluate", "--prediction", participant.parent, "--reference", participant.parent, "--out", out], capsys, "is a file")
    cli_refuses(["predict", "--swi", participant / "swi.nii.gz", "--model", tiny_model, "--out", out / "inside"], capsys, "is a file")
    assert out.read_text() == "a file"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="permissions do not bind root")
def test_C4_a_read_only_output_folder_is_refused(tmp_path, participant, tiny_model, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        cli_refuses(["predict", "--swi", participant / "swi.nii.gz", "--model", tiny_model, "--out", locked / "out"], capsys, "permission")
    finally:
        locked.chmod(0o755)


def test_C4_a_full_disk_ends_with_a_message_and_no_partial_output(tmp_path, participant, tiny_model, capsys, monkeypatch):
    def full(image, path, *args, **kwargs):
        Path(path).write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(sitk, "WriteImage", full)
    out = tmp_path / "results" / "out"
    cli_refuses(["predict", "--swi", participant / "swi.nii.gz", "--model", tiny_model, "--out", out], capsys, "No space left")
    assert not out.exists() and leftovers(tmp_path / "results") == []


# --- C5, N: evaluate's label maps and options ---------------------------------------------------

def _evaluation_folders(tmp_path: Path, participant: Path, reference: np.ndarray | None = None, mimics: Volume | None = None):
    prediction, references = tmp_path / "prediction" / "p1", tmp_path / "reference" / "p1"
    prediction.mkdir(parents=True)
    references.mkdir(parents=True)
    shutil.copy(participant / "labels.nii.gz", prediction / "labels.nii.gz")
    if reference is None:
        shutil.copy(participant / "labels.nii.gz", references / "labels.nii.gz")
    else:
        write(references / "labels.nii.gz", reference)
    if mimics is not None:
        write_volume(mimics, references / "mimics.nii.gz")
    return ["evaluate", "--prediction", prediction.parent, "--reference", references.parent, "--out", tmp_path / "evaluation"]


@pytest.mark.parametrize(("value", "dtype"), [(257, np.int16), (258, np.int16), (-1, np.int16), (1.5, np.float32), (3, np.uint8), (7, np.uint8)])
def test_N_label_values_evaluate_cannot_read_exactly_are_refused(tmp_path, participant, capsys, value, dtype):
    reference = labels_like().astype(dtype)
    reference[2, 5, 5] = value
    cli_refuses(_evaluation_folders(tmp_path, participant, reference), capsys, re.escape(str(value)))
    assert_nothing_written(tmp_path / "evaluation")


@pytest.mark.parametrize("value", [3, 257])
def test_N_training_labels_with_other_values_are_refused(tmp_path, participant, capsys, value):
    cohort = tmp_path / "cohort" / "p1"
    shutil.copytree(participant, cohort)
    labels = labels_like().astype(np.int16)
    labels[2, 5, 5] = value
    write(cohort / "labels.nii.gz", labels)
    cli_refuses(["train", "--data", cohort.parent, "--out", tmp_path / "m", "--inputs", "swi", "--epochs", "1", "--width", "2",
                 "--no-cache", "--device", "cpu"], capsys, str(value))
    assert not list(tmp_path.glob("m*"))


@pytest.mark.parametrize("case", ["unit mm without tolerances", "mimics on another grid", "mimics with an unknown value"])
def test_C5_evaluate_refuses_what_it_cannot_score(tmp_path, participant, capsys, case):
    mimics = None
    if case == "mimics on another grid":
        mimics = volume(np.zeros((8, 20, 20), np.uint8))
    elif case == "mimics with an unknown value":
        array = np.zeros(SHAPE, np.uint8)
        array[1, 1, 1] = 7
        mimics = volume(array)
    argv = _evaluation_folders(tmp_path, participant, mimics=mimics)
    cli_refuses(argv + (["--unit", "mm"] if case.startswith("unit") else []), capsys)
    assert_nothing_written(tmp_path / "evaluation")


# --- C6, L, M: model cards and weights -----------------------------------------------------------

def _model_copy(tiny_model: Path, folder: Path, change=None, tensors=None) -> Path:
    """A copy of the tiny model with its card changed by `change(card_dict)` (or replaced by
    what it returns) and, with `tensors`, its weights replaced (sha256 recorded anew)."""
    folder.mkdir(parents=True, exist_ok=True)
    card_path, weights = folder / "m.json", folder / "m.safetensors"
    shutil.copy(tiny_model.with_suffix(".safetensors"), weights)
    card = json.loads(tiny_model.read_text())
    if tensors is not None:
        from safetensors.torch import save_file

        save_file(tensors, str(weights))
        card["weights_sha256"] = sha256_of(weights)
    if change is not None:
        card = change(card) or card
    card_path.write_text(card if isinstance(card, str) else json.dumps(card))
    return card_path


def _set(path: str, value):
    def change(card):
        *parents, key = path.split(".")
        target = card
        for name in parents:
            target = target[name]
        if value is _DELETE:
            del target[key]
        else:
            target[key] = value
    return change


_DELETE = object()
CARD_CASES = {
    "a JSON array": lambda card: [card],
    "nested 100000 deep": lambda card: "[" * 100000 + "]" * 100000,
    "no base_width": _set("architecture.base_width", _DELETE),
    "no architecture": _set("architecture", _DELETE),
    "inputs a string": _set("inputs", "swi"),
    "inputs a number": _set("inputs", 3),
    "classes numbers": _set("classes", [1, 2]),
    "classes an object": _set("classes", {"cmb": 1}),
    "class label 7": lambda card: card["classes"][0].update(label=7),
    "class key a path": lambda card: card["classes"][0].update(key="../../x"),
    "levels text": _set("architecture.levels", "6"),
    "levels 40": _set("architecture.levels", 40),
    "base width a million": _set("architecture.base_width", 10**6),
    "head unknown": _set("architecture.head", "tanh"),
    "name a number": _set("name", 5),
    "min probability 2": _set("postprocessing", {"min_lesion_probability": {"cmb": 2}}),
    "format_version text": _set("format_version", "9"),
}


@pytest.mark.parametrize("case", list(CARD_CASES))
def test_C6_damaged_model_cards_are_refused_before_anything_is_built(tmp_path, tiny_model, capsys, case):
    card = _model_copy(tiny_model, tmp_path / "model", CARD_CASES[case])
    started = time.perf_counter()
    refused(lambda: load_model(card))
    assert time.perf_counter() - started < 30  # no network of absurd size was allocated
    cli_refuses(["info", card, "--check"], capsys)


def test_L_a_card_without_weights_sha256_does_not_load_unverified_weights(tmp_path, tiny_model, capsys):
    card = _model_copy(tiny_model, tmp_path / "model", _set("weights_sha256", ""))
    refused(lambda: load_model(card), "weights_sha256")
    cli_refuses(["info", card, "--check"], capsys)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_M_weights_that_are_not_finite_are_refused(tmp_path, tiny_model, bad):
    tensors = {k: v.clone() for k, v in UNet2D(1, 2, base_width=2).state_dict().items()}
    tensors["head.bias"][0] = bad
    card = _model_copy(tiny_model, tmp_path / "model", tensors=tensors)
    refused(lambda: load_model(card), "NaN or infinite")


def test_C6_weights_of_another_shape_are_refused(tmp_path, tiny_model):
    card = _model_copy(tiny_model, tmp_path / "model", tensors=UNet2D(1, 2, base_width=4).state_dict())
    refused(lambda: load_model(card), "do not fit")


# --- D: geometry that would be altered or guessed -------------------------------------------------

NRRD_HEADER = """NRRD0004
type: float
dimension: 3
space: left-posterior-superior
sizes: 24 28 8
space directions: {directions}
kinds: domain domain domain
endian: little
encoding: raw
space origin: (0,0,0)

"""


def _write_dicom_series(folder: Path, array: np.ndarray, skip: int | None = None) -> Path:
    image = sitk.GetImageFromArray(array.astype(np.int16))
    image.SetSpacing((1.0, 1.0, 1.5))
    folder.mkdir()
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    for z in range(image.GetDepth()):
        if z == skip:
            continue
        plane = image[:, :, z]
        tags = {"0008|0060": "MR", "0020|000d": "1.2.826.0.1.3680043.2.1125.1.1", "0020|000e": "1.2.826.0.1.3680043.2.1125.1.2",
                "0020|0013": str(z + 1), "0020|0032": f"0\\0\\{1.5 * z:.3f}", "0020|0037": "1\\0\\0\\0\\1\\0",
                "0018|0050": "1.5", "0028|0030": "1\\1"}
        for tag, value in tags.items():
            plane.SetMetaData(tag, value)
        writer.SetFileName(str(folder / f"slice{z:03d}.dcm"))
        writer.Execute(plane)
    return folder


def _nifti_with_header(path: Path, change) -> Path:
    """An uncompressed NIfTI file written by ITK whose header fields `change` then edits."""
    import nibabel

    write(path, swi_like())
    data = path.read_bytes()
    header = nibabel.Nifti1Header(data[:348])
    change(header)
    path.write_bytes(header.binaryblock + data[348:])
    return path


def _pixdim(values):
    def change(header):
        header["qform_code"], header["sform_code"] = 0, 0
        header["pixdim"][1:4] = values
    return change


def _disagreeing_forms(header):
    header["qform_code"], header["sform_code"] = 1, 1
    header["qoffset_x"] += 10.0  # the qform puts the volume 10 mm away from where the sform does


GEOMETRY_FILES = {
    "NRRD sheared": lambda p: _raw_nrrd(p, "(1,0,0) (0.5,1,0) (0,0,1.5)"),
    "NRRD zero spacing": lambda p: _raw_nrrd(p, "(0,0,0) (0,1,0) (0,0,1.5)"),
    "MHA scaled direction": lambda p: _raw_mha(p, "2 0 0 0 1 0 0 0 1"),
    "MHA sheared": lambda p: _raw_mha(p, "1 0 0 0.5 1 0 0 0 1"),
    "NIfTI pixdim 0": lambda p: _nifti_with_header(p.with_suffix(".nii"), _pixdim([0.0, 1.0, 1.5])),
    "NIfTI pixdim NaN": lambda p: _nifti_with_header(p.with_suffix(".nii"), _pixdim([np.nan, 1.0, 1.5])),
    "NIfTI qform and sform disagree": lambda p: _nifti_with_header(p.with_suffix(".nii"), _disagreeing_forms),
    "DICOM missing slice": lambda p: _write_dicom_series(p.parent / "dicom", swi_like() * 1000, skip=4),
}


def _raw_nrrd(path: Path, directions: str) -> Path:
    path = path.with_suffix(".nrrd")
    path.write_bytes(NRRD_HEADER.format(directions=directions).encode() + swi_like().tobytes())
    return path


def _raw_mha(path: Path, matrix: str) -> Path:
    path = path.with_suffix(".mha")
    header = (f"ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\nTransformMatrix = {matrix}\n"
              "Offset = 0 0 0\nElementSpacing = 1 1 1.5\nDimSize = 24 28 8\nElementType = MET_FLOAT\nElementDataFile = LOCAL\n")
    path.write_bytes(header.encode() + swi_like().tobytes())
    return path


@pytest.mark.parametrize("case", list(GEOMETRY_FILES))
def test_D_geometry_that_would_be_guessed_or_altered_is_refused(tmp_path, tiny_model, capsys, case):
    path = GEOMETRY_FILES[case](tmp_path / "swi")
    refused(lambda: read_volume(path))
    cli_refuses(["predict", "--swi", path, "--model", tiny_model, "--out", tmp_path / "out"], capsys)
    assert not (tmp_path / "out").exists()


def test_control_a_complete_dicom_series_reads_with_its_spacing(tmp_path):
    folder = _write_dicom_series(tmp_path / "dicom", swi_like() * 1000)
    back = read_volume(folder)
    assert back.shape == SHAPE and np.allclose(back.spacing, (1.0, 1.0, 1.5))


@pytest.mark.parametrize("geometry", [{"direction": (1, 0.5, 0, 0, 1, 0, 0, 0, 1)}, {"direction": (2, 0, 0, 0, 1, 0, 0, 0, 1)},
                                      {"spacing": (1.0, float("nan"), 1.5)}, {"spacing": (1.0, 0.0, 1.5)}, {"origin": (0, float("inf"), 0)}],
                         ids=["sheared", "scaled", "NaN spacing", "zero spacing", "infinite origin"])
def test_D_in_memory_geometry_is_checked_before_anything_is_computed_or_written(tmp_path, tiny_model, geometry):
    swi = volume(swi_like(), **geometry)
    refused(lambda: detect(ParticipantVolumes("p1", swi), load_model(tiny_model), device="cpu"))
    store = Datastore(tmp_path / "store", create=True)
    refused(lambda: store.save_case("sub-01", {"swi": swi}, swi.with_array(labels_like())))
    assert not (tmp_path / "store" / "images").exists() and store.cases() == []


# --- E: complex images --------------------------------------------------------------------------

def test_E_a_complex_image_file_is_refused(tmp_path):
    path = tmp_path / "swi.nii.gz"
    sitk.WriteImage(sitk.GetImageFromArray(swi_like().astype(np.complex64) * (1 + 1j)), str(path))
    refused(lambda: read_volume(path), "complex")


@pytest.mark.parametrize("value", [1 + 1j, complex(np.nan, 0)], ids=["complex", "complex NaN"])
def test_E_complex_volumes_in_memory_are_refused(tmp_path, tiny_model, value):
    swi = volume(swi_like().astype(np.complex64) * value)
    refused(lambda: detect(ParticipantVolumes("p1", swi), load_model(tiny_model), device="cpu"), "complex")
    store = Datastore(tmp_path / "store", create=True)
    refused(lambda: store.save_case("sub-01", {"swi": swi}, swi.with_array(labels_like())), "complex")
    assert store.cases() == [] and not (tmp_path / "store" / "images").exists()


# --- C7, J, K: datastore indexes and roots ------------------------------------------------------

def _images(seed: int = 0) -> dict[str, Volume]:
    return {"swi": volume(swi_like(seed=seed)), "qsm": volume(swi_like(seed=seed + 1) - 0.5),
            "brainmask": volume((swi_like() > 0.5).astype(np.uint8))}


@pytest.fixture()
def small_store(tmp_path) -> Path:
    store = Datastore(tmp_path / "store", create=True)
    labels = volume(labels_like())
    store.save_case("sub-01", _images(), labels, original_labels=labels, annotator="A", model={"name": "m", "version": "1"})
    return store.root


def _edit_index(root: Path, change) -> None:
    index = json.loads((root / "datastore.json").read_text())
    index = change(index) or index
    (root / "datastore.json").write_text(index if isinstance(index, str) else json.dumps(index))


def _entry(index):
    return index["cases"]["sub-01"][0]


INDEX_CASES = {
    "no status": lambda index: _entry(index).pop("status"),
    "version as text": lambda index: _entry(index).update(version="1"),
    "status unknown": lambda index: _entry(index).update(status="maybe"),
    "images a list": lambda index: _entry(index).update(images=["swi"]),
    "final outside the store": lambda index: _entry(index)["final"].update(file="../../../etc/passwd"),
    "entry filed under another case (K)": lambda index: index["cases"].update({"sub-02": index["cases"].pop("sub-01")}),
    "images_version of no save": lambda index: _entry(index).update(images_version=7),
    "cases a list": lambda index: index.update(cases=[]),
    "entries empty": lambda index: index["cases"].update({"sub-01": []}),
    "an array": lambda index: [index],
    "nested 100000 deep": lambda index: "[" * 100000 + "]" * 100000,
    "format_version text": lambda index: index.update(format_version="2"),
}


@pytest.mark.parametrize("case", list(INDEX_CASES))
def test_C7_K_malformed_datastore_indexes_are_refused(small_store, capsys, case):
    _edit_index(small_store, INDEX_CASES[case])
    refused(lambda: Datastore(small_store).approved())
    cli_refuses(["datastore", small_store], capsys)
    refused(lambda: find_training_cases(small_store))


def test_C7_a_datastore_layout_without_images_is_refused(tmp_path):
    write(tmp_path / "store" / "labels" / "final" / "sub-01.nii.gz", labels_like())
    refused(lambda: find_training_cases(tmp_path / "store"), "images")


@pytest.mark.parametrize("create", [False, True])
def test_J_a_store_root_that_is_a_file_is_refused(tmp_path, capsys, create):
    (tmp_path / "store").write_text("a file")
    refused(lambda: Datastore(tmp_path / "store", create=create), "is a file")
    cli_refuses(["datastore", tmp_path / "store"], capsys)


# --- H, Q: what a save refuses before writing -----------------------------------------------------

SAVE_CASES = {
    "model a list": {"model": ["m", "1"]},
    "model nested": {"model": {"name": {"deep": [1]}}},
    "changes a set": {"changes": {"added": {1, 2}}},
    "changes a string": {"changes": "many"},
    "annotator None": {"annotator": None},
    "case CON": {"case_id": "CON"},
    "case nul": {"case_id": "nul"},
    "case COM1.v2": {"case_id": "COM1.v2"},
    "case LPT9": {"case_id": "LPT9"},
    "case aux.txt": {"case_id": "aux.txt"},
    "case with a trailing dot": {"case_id": "sub-02."},
    "case differing in letter case only": {"case_id": "SUB-01"},
    "case Versions": {"case_id": "Versions"},
}


@pytest.mark.parametrize("case", list(SAVE_CASES))
def test_H_Q_a_save_refuses_bad_arguments_before_writing_anything(small_store, case):
    arguments = {"case_id": "sub-02", **SAVE_CASES[case]}
    before = sorted(str(p.relative_to(small_store)) for p in small_store.rglob("*"))
    store = Datastore(small_store)
    case_id = arguments.pop("case_id")
    refused(lambda: store.save_case(case_id, _images(seed=5), volume(labels_like()), **arguments))
    assert sorted(str(p.relative_to(small_store)) for p in small_store.rglob("*")) == before, "SILENT: written before refusing"


# --- Q: leftovers of killed writes are swept ----------------------------------------------------

def test_Q_stale_temporary_files_and_staging_folders_are_swept(tmp_path):
    an_hour_ago = time.time() - 3600
    stale_file = tmp_path / ".swi.nii.gz.tmp-deadbeef.nii.gz"
    stale_folder = tmp_path / ".out.partial-deadbeef"
    live_file = tmp_path / ".swi.nii.gz.tmp-alive000.nii.gz"  # a writer still at work: newer than this process
    stale_file.write_bytes(b"half")
    stale_folder.mkdir()
    (stale_folder / "labels.nii.gz").write_bytes(b"half")
    live_file.write_bytes(b"half")
    for path in (stale_file, stale_folder):
        os.utime(path, (an_hour_ago, an_hour_ago))
    write(tmp_path / "swi.nii.gz", swi_like())
    with atomic_directory(tmp_path / "out") as staging:
        (staging / "x").write_text("x")
    assert not stale_file.exists() and not stale_folder.exists(), "a killed run's leftovers stay forever"
    assert live_file.exists()


def test_Q_a_save_sweeps_what_killed_saves_left_in_the_store(small_store):
    leftover = [small_store / ".datastore.json.tmp-deadbeef", small_store / "images" / "sub-01" / ".swi.nii.gz.tmp-deadbeef.nii.gz",
                small_store / "images" / "sub-01" / "versions" / ".v0001.partial-deadbeef"]
    for path in leftover[:2]:
        path.write_bytes(b"half")
    leftover[2].mkdir(parents=True)
    Datastore(small_store).save_case("sub-01", _images(seed=9), volume(labels_like()))
    assert leftovers(small_store) == []


# --- G: kill -9 at every write step of a datastore save --------------------------------------------

def _run_killed(action, step: int, when: str, timeout: float = 120) -> int:
    """Run `action()` in a forked child that kills itself (SIGKILL) just before or just after
    its `step`-th file operation (os.replace or os.unlink); returns how many operations it
    made (when it was not killed) or -1."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no return from here
        os.close(read_end)
        message = b"error"
        try:
            count = 0

            def counted(real):
                def operation(*args, **kwargs):
                    nonlocal count
                    count += 1
                    if count == step and when == "before":
                        os.kill(os.getpid(), signal.SIGKILL)
                    try:
                        return real(*args, **kwargs)
                    finally:  # also when the operation failed (unlink of a missing file)
                        if count == step and when == "after":
                            os.kill(os.getpid(), signal.SIGKILL)
                return operation

            os.replace, os.unlink = counted(os.replace), counted(os.unlink)
            action()
            message = str(count).encode()
        except BaseException as err:  # noqa: BLE001 - reported to the parent
            message = f"error {type(err).__name__}: {err}".encode()[:500]
        finally:
            os.write(write_end, message)
            os._exit(0)
    os.close(write_end)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"the child writing at step {step} ({when}) hung")
        time.sleep(0.01)
    with os.fdopen(read_end, "rb") as pipe:
        message = pipe.read().decode()
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return -1
    assert not message.startswith("error"), message
    return int(message)


def _assert_store_consistent(root: Path, case_id: str) -> list[int]:
    """Every indexed version's files are there with their recorded content and what training
    reads (labels and images) belongs to one and the same version. Returns the versions of
    `case_id`."""
    store = Datastore(root)
    versions = [e.version for e in store.entries(case_id)] if case_id in {c.case for c in store.cases()} else []
    for summary in store.cases():
        for entry in store.entries(summary.case):
            for record in (entry.final, entry.original):
                if record is not None:
                    assert content_sha256(read_volume(root / record.file, np.uint8)) == record.sha256, f"SILENT: {record.file}"
            for name, path in store.image_paths(entry.case, entry.version).items():
                image = read_volume(path, np.uint8 if name == "brainmask" else np.float32)
                assert content_sha256(image) == entry.images[name], f"SILENT: {entry.case} v{entry.version} {name} is another save's"
    newest_approved = {entry.case: entry for entry in store.approved()}
    for case in find_training_cases(root):
        entry = newest_approved[case.case_id]
        assert content_sha256(read_volume(case.labels, np.uint8)) == entry.final.sha256, f"SILENT: training reads another label of {case.case_id}"
        for name in entry.images:
            path = case.inputs.mask if name == "brainmask" else getattr(case.inputs, name)
            image = read_volume(path, np.uint8 if name == "brainmask" else np.float32)
            assert content_sha256(image) == entry.images[name], f"SILENT: training pairs the label of v{entry.version} with other images"
    return versions


SAVES = {
    "first save of a case": ("sub-02", lambda store: store.save_case("sub-02", _images(seed=3), volume(labels_like()),
                                                                      original_labels=volume(labels_like()), annotator="B")),
    "new images and labels of a saved case": ("sub-01", lambda store: store.save_case(
        "sub-01", {"swi": volume(swi_like(seed=7))}, volume(np.roll(labels_like(), 2, axis=2)),
        original_labels=volume(labels_like()), annotator="C")),
}


@pytest.mark.parametrize("scenario", list(SAVES))
def test_G_a_kill_at_any_write_step_of_a_save_leaves_the_previous_or_the_next_version(small_store, tmp_path, scenario):
    case_id, save = SAVES[scenario]
    before = _assert_store_consistent(small_store, case_id)
    template = tmp_path / "template"
    shutil.copytree(small_store, template)
    counting = tmp_path / "counting"
    shutil.copytree(template, counting)
    steps = _run_killed(lambda: save(Datastore(counting)), step=0, when="never")
    assert steps >= 5, steps
    problems = []
    for step in range(1, steps + 1):
        for when in ("before", "after"):
            root = tmp_path / f"killed-{step}-{when}"
            shutil.copytree(template, root)
            assert _run_killed(lambda root=root: save(Datastore(root)), step, when) == -1
            try:
                killed = _assert_store_consistent(root, case_id)
                assert killed in (before, before + [len(before) + 1]), f"SILENT: versions {killed} after a kill, {before} before"
                save(Datastore(root))  # the re-run: one more version, nothing of the killed save left over
                assert _assert_store_consistent(root, case_id) == killed + [len(killed) + 1]
                assert leftovers(root) == [], f"left over after a re-run: {leftovers(root)}"
            except (AssertionError, InputError) as err:
                problems.append(f"killed {when} file operation {step} of {steps}: {str(err).splitlines()[0]}")
            shutil.rmtree(root)
    assert not problems, f"{len(problems)} of {2 * steps} kills:\n" + "\n".join(problems)


# --- C8, P: checkpoints -------------------------------------------------------------------------

CHECKPOINT_CONFIG = {"inputs": ("swi",), "task": "multiclass", "base_width": 2, "epochs": 3, "batch_size": 2, "crop": None, "device": "cpu"}


def _trainer_at(epoch: int, **config) -> Trainer:
    """A trainer whose weights all equal `epoch`, with optimizer state and a history of
    `epoch` epochs: a checkpoint of it tells its epoch by its tensors."""
    trainer = Trainer(TrainingConfig(**{**CHECKPOINT_CONFIG, **config}), [], [])
    for parameter in trainer.network.parameters():
        parameter.grad = torch.ones_like(parameter)
    trainer.optimizer.step()
    with torch.no_grad():
        for parameter in trainer.network.parameters():
            parameter.fill_(float(epoch))
    trainer.history = [{"epoch": e, "loss": 1.0, "validation_iou": 0.1 * e} for e in range(1, epoch + 1)]
    trainer.best_iou, trainer.best_epoch = 0.1 * epoch, epoch
    trainer.best_state = {k: v.detach().clone() for k, v in trainer.network.state_dict().items()}
    return trainer


def _resumed(path: Path) -> tuple[int, set[float]]:
    trainer = _trainer_at(0)
    epoch = trainer.load_checkpoint(path)
    return epoch, {float(p.detach().flatten()[0]) for p in trainer.network.parameters()}


def test_P_a_kill_at_any_write_step_of_a_checkpoint_leaves_a_matching_pair(tmp_path):
    """The trainers are made here, not in the forked child (PyTorch's thread pools do not
    survive a fork); the child only writes."""
    checkpoint = tmp_path / "m.checkpoint"
    first, second = _trainer_at(1), _trainer_at(2)
    steps = _run_killed(lambda: first.save_checkpoint(checkpoint, 1), step=0, when="never")
    assert steps >= 1 and _resumed(checkpoint) == (1, {1.0})
    for step in range(1, steps + 1):
        for when in ("before", "after"):
            assert _run_killed(lambda: second.save_checkpoint(checkpoint, 2), step, when) == -1
            epoch, weights = _resumed(checkpoint)
            assert weights == {float(epoch)}, f"SILENT: --resume would continue epoch {epoch} with the weights of epoch {weights}"
            first.save_checkpoint(checkpoint, 1)  # back to epoch 1 for the next kill


def test_P_a_kill_at_any_write_step_of_a_calibrated_copy_saved_over_its_model_leaves_a_model(tiny_model, tmp_path):
    """`deepmir calibrate --out` naming the model itself (with a new --version): the weights are
    written again (the same bytes) and then the card. A kill at any step leaves the old card or
    the new one, with weights that match it."""
    path = tmp_path / "tiny"
    model = load_model(save_model(load_model(tiny_model).network, read_card(tiny_model), path))
    network = model.network  # loaded here: PyTorch's thread pools do not survive the fork
    calibrated = dataclasses.replace(model.card, version="0.0.2", postprocessing={"min_lesion_probability": {"cmb": 0.9, "iron": 0.8}})
    steps = _run_killed(lambda: save_model(network, copy.deepcopy(calibrated), path), step=0, when="never")
    assert steps >= 2
    for step in range(1, steps + 1):
        for when in ("before", "after"):
            save_model(network, copy.deepcopy(model.card), path)
            assert _run_killed(lambda: save_model(network, copy.deepcopy(calibrated), path), step, when) == -1
            card = load_model(path).card  # refuses weights that do not match the card
            assert (card.version, card.postprocessing) in ((model.card.version, model.card.postprocessing),
                                                           (calibrated.version, calibrated.postprocessing))


def _legacy_pair(path: Path) -> None:
    """The two-file checkpoint of earlier versions: tensors and a JSON record."""
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in _trainer_at(1).network.state_dict().items()}, f"{path}.safetensors")
    Path(f"{path}.json").write_text(json.dumps({"epoch": 1}))


CHECKPOINT_CASES = {
    "garbage bytes": lambda path: Path(f"{path}.safetensors").write_bytes(b"\x00garbage" * 100),
    "another configuration": lambda path: _trainer_at(1, base_width=4).save_checkpoint(path, 1),
    "an older two-file checkpoint": _legacy_pair,
    "beyond --epochs": lambda path: _trainer_at(1, epochs=9).save_checkpoint(path, 9),
}


@pytest.mark.parametrize("case", list(CHECKPOINT_CASES))
def test_C8_damaged_or_mismatched_checkpoints_are_refused(tmp_path, case):
    checkpoint = tmp_path / "m.checkpoint"
    CHECKPOINT_CASES[case](checkpoint)
    refused(lambda: _trainer_at(0).load_checkpoint(checkpoint))


# --- the reading path agrees with ITK where ITK is right -------------------------------------------

@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.uint16, np.int16, np.int32, np.float32, np.float64])
def test_control_nifti_voxels_read_from_the_file_equal_itks_for_every_voxel_type(tmp_path, dtype):
    path = write(tmp_path / "v.nii.gz", (swi_like() * 100).astype(dtype))
    back = read_volume(path, dtype=None)
    itk = sitk.ReadImage(str(path))
    assert back.array.dtype == sitk.GetArrayViewFromImage(itk).dtype and np.array_equal(back.array, sitk.GetArrayFromImage(itk))
    assert back.origin == itk.GetOrigin() and back.spacing == itk.GetSpacing() and back.direction == itk.GetDirection()
