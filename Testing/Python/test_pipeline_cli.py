"""End to end: files -> deepmir predict -> label map, probability maps, lesion table.

The network here is a U-Net whose weights are set by hand so that it computes a known
function: 'CMB' where the normalised SWI is below -T (sigmoid of a steep ramp). That makes
the expected output exact, so the test proves the whole chain (reading, reorientation,
normalisation, slicing onto the canvas, pasting back, restoring the original grid, lesion
extraction) puts a lesion found by the network at the patient position it was placed.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import SimpleITK as sitk
import torch
from conftest import make_modalities

from DeepMIRLib.cli import main
from DeepMIRLib.modelfile import ModelCard, save_model
from DeepMIRLib.unet import UNet2D
from DeepMIRLib.volumes import Volume, read_volume, write_volume

DARK_THRESHOLD = 6.0  # z-score below which the hand-built network calls a voxel a CMB


def _identity_batchnorm(bn: torch.nn.BatchNorm2d) -> None:
    bn.weight.fill_(1.0)
    bn.bias.zero_()
    bn.running_mean.zero_()
    bn.running_var.fill_(1.0 - bn.eps)


def dark_spot_network(in_channels: int, base_width: int = 4) -> UNet2D:
    """U-Net (single class) whose output is sigmoid(8 * (relu(-z_swi) - T)): every weight
    zero except an identity path for channel 0 (negated SWI) through the first analysis
    block, its skip connection and the last synthesis block."""
    network = UNet2D(in_channels, num_classes=1, base_width=base_width)
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.zero_()
        for module in network.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                _identity_batchnorm(module)
        first = network.down[0]
        first[0].weight[0, 0, 1, 1] = -1.0  # feature 0 = -swi
        first[3].weight[0, 0, 1, 1] = 1.0
        last = network.up[-1].conv
        last[0].weight[0, 0, 1, 1] = 1.0  # skip channel 0 of the concatenation
        last[3].weight[0, 0, 1, 1] = 1.0
        network.head.weight[0, 0, 0, 0] = 8.0
        network.head.bias[0] = -8.0 * DARK_THRESHOLD
    return network


@pytest.fixture()
def dark_spot_model(tmp_path):
    network = dark_spot_network(3)
    card = ModelCard.for_network(network, "dark-spot-test", "0.0.1", "cmb", ["swi", "qsm", "t2"], training={"data": "none: weights set by hand for a test"})
    return save_model(network, card, tmp_path / "models" / "dark-spot")


def _oblique_direction(degrees: float = 12.0) -> tuple:
    angle = np.deg2rad(degrees)
    rotation = np.array([[1, 0, 0], [0, np.cos(angle), -np.sin(angle)], [0, np.sin(angle), np.cos(angle)]])
    flip = np.diag([-1.0, -1.0, 1.0])  # a RAS-stored NIfTI as ITK sees it
    return tuple((flip @ rotation).flatten())


def _implant_lesion(swi: Volume, mask: np.ndarray, centre_zyx) -> np.ndarray:
    """Make a 3x3x3 voxel spot very dark on SWI; returns its voxel mask."""
    lesion = np.zeros(swi.shape, bool)
    z, y, x = centre_zyx
    lesion[z - 1 : z + 2, y - 1 : y + 2, x - 1 : x + 2] = True
    assert mask[lesion].all()
    values = swi.array[mask > 0]
    swi.array[lesion] = values.mean() - 20 * values.std()
    return lesion


@pytest.fixture()
def oblique_participant(tmp_path, anatomy):
    """A simulated anatomy on an oblique, anisotropic grid with two implanted dark spots, T2 on
    its own grid (so it is registered), QSM and brain mask on the SWI grid."""
    images = make_modalities(anatomy)
    direction = _oblique_direction()
    for volume in images.values():
        volume.direction = direction
        volume.spacing = (1.1, 0.9, 2.5)
        volume.origin = (40.0, -12.0, 7.0)
    mask = images["brainmask"].array
    lesions = [_implant_lesion(images["swi"], mask, c) for c in ((30, 40, 30), (26, 52, 60))]
    folder = tmp_path / "cohort" / "sub-01"
    for name in ("swi", "qsm", "brainmask"):
        write_volume(images[name], folder / f"{name}.nii.gz")
    t2 = images["t2"].to_image()
    t2_size, t2_spacing = np.array([100, 100, 80]), np.array([1.0, 1.0, 1.8])
    t2_grid = sitk.Image([int(n) for n in t2_size], sitk.sitkFloat32)
    t2_grid.SetSpacing(tuple(t2_spacing))
    centre = np.array(t2.TransformContinuousIndexToPhysicalPoint([42.0, 42.0, 28.0]))
    t2_grid.SetOrigin(tuple(centre - (t2_size - 1) / 2 * t2_spacing))  # axis-aligned, centred on the SWI
    write_volume(sitk.Resample(t2, t2_grid, sitk.Transform(), sitk.sitkLinear, 0.0), folder / "t2.nii.gz")
    return folder, images["swi"], lesions


def _read_table(path):
    with open(path) as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_lesion_comes_out_at_its_patient_position(tmp_path, dark_spot_model, oblique_participant):
    folder, _swi, lesions = oblique_participant
    out = tmp_path / "out"
    assert main(["predict", "--model", str(dark_spot_model), "--input", str(folder.parent), "--out", str(out)]) == 0
    result = out / "sub-01"
    labels = read_volume(result / "labels.nii.gz", dtype=np.uint8)
    written_swi = read_volume(folder / "swi.nii.gz")
    # exactly the SWI grid
    assert labels.shape == written_swi.shape
    assert np.allclose(labels.origin, written_swi.origin, atol=1e-4)
    assert np.allclose(labels.spacing, written_swi.spacing, atol=1e-6)
    assert np.allclose(labels.direction, written_swi.direction, atol=1e-6)
    # exactly the implanted voxels, nothing else
    assert np.array_equal(labels.array == 1, lesions[0] | lesions[1])
    rows = _read_table(result / "lesions.tsv")
    assert len(rows) == 2
    for lesion in lesions:
        z, y, x = (c.mean() for c in np.nonzero(lesion))
        expected_lps = written_swi.index_to_lps([x, y, z])
        found = [r for r in rows if np.allclose([float(r[f"centroid_lps_{a}"]) for a in "xyz"], expected_lps, atol=0.01)]
        assert len(found) == 1, f"no lesion reported at LPS {expected_lps}"
        assert found[0]["class"] == "Cerebral microbleed"
        assert int(found[0]["voxels"]) == 27
    probability = read_volume(result / "prob_cmb.nii.gz")
    assert probability.array.max() <= 1.0 and probability.array.min() >= 0.0
    assert probability.array[lesions[0]].min() > 0.99
    report = json.loads((result / "prediction.json").read_text())
    assert any("T2" in note and "registered" in note for note in report["notes"])
    cohort = _read_table(out / "cohort.tsv")
    assert cohort[0]["participant"] == "sub-01" and cohort[0]["status"] == "ok" and cohort[0]["n_cmb"] == "2"


def test_fixed_canvas_gives_the_same_lesions(tmp_path, dark_spot_model, oblique_participant):
    folder, _, lesions = oblique_participant
    out = tmp_path / "one"
    args = ["predict", "--model", str(dark_spot_model), "--swi", str(folder / "swi.nii.gz"), "--qsm", str(folder / "qsm.nii.gz"),
            "--t2", str(folder / "t2.nii.gz"), "--mask", str(folder / "brainmask.nii.gz"), "--out", str(out), "--canvas", "256x256"]
    assert main(args) == 0
    labels = read_volume(out / "labels.nii.gz", dtype=np.uint8)
    assert np.array_equal(labels.array == 1, lesions[0] | lesions[1])
    # an existing output is not overwritten without --overwrite
    assert main(args) == 2
    assert main(args + ["--overwrite"]) == 0


def _expect_input_error(capsys, args, out, *fragments):
    assert main(args) == 2
    message = capsys.readouterr().err
    for fragment in fragments:
        assert fragment in message, message
    assert not out.exists(), "no partial output on bad input"
    leftovers = [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")] if out.parent.exists() else []
    assert not leftovers


def test_missing_file(tmp_path, capsys, dark_spot_model, participant_folder):
    out = tmp_path / "out"
    missing = tmp_path / "nowhere" / "qsm.nii.gz"
    args = ["predict", "--model", str(dark_spot_model), "--swi", str(participant_folder / "swi.nii.gz"), "--qsm", str(missing),
            "--t2", str(participant_folder / "t2.nii.gz"), "--out", str(out)]
    _expect_input_error(capsys, args, out, str(missing), "file not found")


def test_model_needs_qsm(tmp_path, capsys, dark_spot_model, participant_folder):
    out = tmp_path / "out"
    args = ["predict", "--model", str(dark_spot_model), "--swi", str(participant_folder / "swi.nii.gz"),
            "--t2", str(participant_folder / "t2.nii.gz"), "--out", str(out)]
    _expect_input_error(capsys, args, out, "needs SWI, QSM, T2", "no QSM")


@pytest.mark.parametrize("problem", ["2-D", "4-D", "NaN", "no overlap"])
def test_bad_images(tmp_path, capsys, dark_spot_model, participant_folder, problem):
    bad = participant_folder / "t2.nii.gz"
    t2 = sitk.ReadImage(str(bad))
    if problem == "2-D":
        sitk.WriteImage(t2[:, :, 20], str(bad))
        expected = "2-D image"
    elif problem == "4-D":
        sitk.WriteImage(sitk.JoinSeries([t2, t2]), str(bad))
        expected = "4-D image"
    elif problem == "NaN":
        array = sitk.GetArrayFromImage(t2)
        array[10, 10, 10] = np.nan
        image = sitk.GetImageFromArray(array)
        image.CopyInformation(t2)
        sitk.WriteImage(image, str(bad))
        expected = "NaN"
    else:
        t2.SetOrigin((5000.0, 0.0, 0.0))
        sitk.WriteImage(t2, str(bad))
        expected = "does not overlap"
    out = tmp_path / "out"
    _expect_input_error(capsys, ["predict", "--model", str(dark_spot_model), "--input", str(participant_folder), "--out", str(out)], out / "sub-001", str(bad), expected)


def test_info_prints_the_card(capsys, dark_spot_model):
    assert main(["info", str(dark_spot_model), "--check"]) == 0
    text = capsys.readouterr().out
    assert "dark-spot-test" in text and "SWI, QSM, T2" in text and "Cerebral microbleed" in text and "(checked)" in text
    assert main(["info", str(dark_spot_model), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["task"] == "cmb"


def test_help_is_readable(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["predict", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "--swi" in text and "lesions.tsv" in text and "LPS" in text


def test_info_shows_the_second_stage_and_the_int8_file(capsys):
    from DeepMIRLib.modelfile import read_card, resolve_model

    card = read_card(resolve_model("default"))
    assert main(["info", "default"]) == 0
    text = capsys.readouterr().out
    second = [line for line in text.splitlines() if line.strip().startswith("second stage:")]
    assert len(second) == len(card.second_stages) == 3  # the bundled model: microbleeds; iron below 15 ms; iron from 15 ms
    for line, spec in zip(second, card.second_stages):
        assert spec.weights_sha256 in line and f"cmb {spec.min_probability['cmb']}" in line
        assert f"decides {', '.join(spec.decides)}" in line
        assert ("SWI minima" in line) == bool(spec.extrema)  # only the microbleed classifier has extremum proposals
    int8 = next(line for line in text.splitlines() if line.strip().startswith("int8 U-Net:"))
    assert card.int8.file in int8 and card.int8.sha256 in int8
