"""The SWI's echo time as a second-stage input (echotime): where it is read from, how it is
checked, how a classifier that takes it is trained and run, and the errors when it is missing."""

from __future__ import annotations

import copy
import json
import shutil

import numpy as np
import pytest
import torch

from DeepMIRLib import secondstage
from DeepMIRLib.candidates import apply_second_stage
from DeepMIRLib.cli import main
from DeepMIRLib.echotime import read_swi_echo_time, sidecar_path
from DeepMIRLib.errors import InputError
from DeepMIRLib.modelfile import load_model, save_model
from DeepMIRLib.pipeline import detect, participant_from_folder
from DeepMIRLib.secondstagespec import ECHO_TIME_FEATURE, ECHO_TIME_SCALE_MS, FEATURE_NAMES, SecondStageSpec
from DeepMIRLib.training import find_training_cases
from DeepMIRLib.worker import worker_command


def test_the_sidecar_gives_the_echo_time_in_seconds_and_wrong_ones_are_refused(tmp_path):
    assert sidecar_path(tmp_path / "swi.nii.gz") == tmp_path / "swi.json"
    assert sidecar_path(tmp_path / "sub-01_swi.nrrd") == tmp_path / "sub-01_swi.json"
    assert sidecar_path(tmp_path / "swi") == tmp_path / "swi.json"  # a DICOM series folder
    image = tmp_path / "swi.nii.gz"
    assert read_swi_echo_time(image) is None  # no sidecar
    for content, expected in (({"EchoTime": 0.02}, 20.0), ({"RepetitionTime": 0.03}, None)):
        sidecar_path(image).write_text(json.dumps(content))
        assert read_swi_echo_time(image) == expected
    for content, message in (({"EchoTime": 20}, "is not a number from 1 to 100 ms"),  # milliseconds where BIDS has seconds
                             ({"EchoTime": [0.0075, 0.015]}, "is not one number of seconds"),
                             ({"EchoTime": "0.02"}, "is not one number of seconds"),
                             ([0.02], "must hold an object")):
        sidecar_path(image).write_text(json.dumps(content))
        with pytest.raises(InputError, match=message) as error:
            read_swi_echo_time(image)
        assert "swi.json" in str(error.value)
    sidecar_path(image).write_text("{EchoTime: 0.02")
    with pytest.raises(InputError, match="cannot be read as a JSON sidecar"):
        read_swi_echo_time(image)


def test_widening_a_classifier_for_the_echo_time_changes_nothing_until_trained():
    """with_echo_time_input adds the feature with zero weights: the same scores whatever the echo
    time; once the new weights are not zero the echo time changes them."""
    torch.manual_seed(0)
    network = secondstage.CandidateNet(4, 4).eval()
    widened = secondstage.with_echo_time_input(network).eval()
    assert widened.n_features == len(FEATURE_NAMES) + 1
    rng = np.random.default_rng(0)
    patches = rng.normal(size=(5, 4, 9, 20, 20)).astype(np.float32)
    features = rng.random((5, len(FEATURE_NAMES))).astype(np.float32)
    with torch.inference_mode():
        before = network(torch.from_numpy(patches), torch.from_numpy(features))
        for echo_ms in (7.5, 25.0):
            column = np.full((5, 1), echo_ms / ECHO_TIME_SCALE_MS, np.float32)
            after = widened(torch.from_numpy(patches), torch.from_numpy(np.concatenate([features, column], axis=1)))
            assert torch.allclose(before, after, atol=1e-6)
        widened.head[0].weight[:, -1] = 1.0
        short, long = (widened(torch.from_numpy(patches), torch.from_numpy(np.concatenate([features, np.full((5, 1), v, np.float32)], 1)))
                       for v in (0.375, 1.25))
        assert not torch.allclose(short, long)
    with pytest.raises(InputError, match="has the echo time already"):
        secondstage.with_echo_time_input(widened)


def test_a_card_lists_the_echo_time_only_as_the_last_feature():
    spec = SecondStageSpec("cnn3d", 4, 4, (9, 20, 20), features=(*FEATURE_NAMES, ECHO_TIME_FEATURE))
    assert spec.uses_echo_time and not SecondStageSpec("cnn3d", 4, 4, (9, 20, 20)).uses_echo_time
    assert SecondStageSpec.from_dict(spec.to_dict()) == spec
    shapes = {name: tuple(tensor.shape) for name, tensor in spec.build_network().state_dict().items()}
    assert shapes == {name: shape for name, (shape, _) in spec.tensor_shapes().items()}
    assert shapes["head.0.weight"][1] == 8 * 4 + len(FEATURE_NAMES) + 1
    for features in ([ECHO_TIME_FEATURE, *FEATURE_NAMES], [*FEATURE_NAMES, "echo"], [*FEATURE_NAMES, ECHO_TIME_FEATURE, ECHO_TIME_FEATURE]):
        with pytest.raises(InputError, match="optionally followed by 'swi_echo_time'"):
            SecondStageSpec.from_dict({**spec.to_dict(), "features": features})


def test_the_classifier_is_given_the_echo_time_scaled_as_its_last_feature(slab_cohort):
    """apply_second_stage hands the classifier the candidates' features with the echo time over
    ECHO_TIME_SCALE_MS as one more column; without the echo time it refuses to run."""
    loaded = load_model("default")
    case = secondstage._training_case(slab_cohort / "sim-41-0000")
    stack, labels, probabilities = secondstage._permissive_unet(case, loaded, {})
    spec = SecondStageSpec("cnn3d", 4, len(loaded.card.inputs) + 1, (9, 20, 20), features=(*FEATURE_NAMES, ECHO_TIME_FEATURE))
    seen = []

    def classifier(patches, features):
        seen.append(features)
        return np.tile(np.array([[1.0, 0.0, 0.0]], np.float32), (len(features), 1))

    apply_second_stage(classifier, spec, stack, labels, probabilities, swi_echo_time_ms=25.0)
    features = np.concatenate(seen)
    assert len(features) and features.shape[1] == len(FEATURE_NAMES) + 1
    assert np.all(features[:, -1] == np.float32(25.0 / ECHO_TIME_SCALE_MS))
    with pytest.raises(InputError, match="takes the SWI's echo time"):
        apply_second_stage(classifier, spec, stack, labels, probabilities)


@pytest.fixture(scope="module")
def echo_time_model(slab_cohort, tmp_path_factory):
    """The default's microbleed classifier alone, fine-tuned for one epoch with the echo time
    (its sidecars: the nominal protocol's 7.5 ms)."""
    folder = tmp_path_factory.mktemp("echo")
    default = load_model("default")
    index = next(i for i, spec in enumerate(default.card.second_stages) if spec.decided_keys() == ("cmb",))
    card = copy.deepcopy(default.card)
    card.second_stages = (default.card.second_stages[index],)
    save_model(default.network, card, folder / "cmb-only.json", second_stage=[default.second_stage_network(index)])
    cases = find_training_cases(slab_cohort)
    section = secondstage.build_two_stage_model(folder / "cmb-only.json", cases[:2], cases[2:], folder / "echo", epochs=1, fine_tune=True,
                                                learning_rate=1e-4, echo_time=True, log=lambda line: None)
    return folder / "echo.json", section


def test_fine_tuning_with_the_echo_time_writes_a_card_that_takes_it(echo_time_model):
    path, section = echo_time_model
    assert section["features"] == [*FEATURE_NAMES, ECHO_TIME_FEATURE]
    assert section["training"]["echo_times_ms"] == [7.5]
    assert "fine_tuned_from" in section["training"]
    loaded = load_model(path)
    assert loaded.card.second_stage.uses_echo_time and loaded.second_stage.n_features == len(FEATURE_NAMES) + 1


def test_detection_takes_the_echo_time_from_the_sidecar_or_refuses_before_any_work(echo_time_model, slab_cohort, tmp_path):
    path, _ = echo_time_model
    participant = slab_cohort / "sim-41-0002"
    detection = detect(participant_from_folder(participant), path, device="cpu", runtime="torch")
    assert detection.settings["swi_echo_time_ms"] == 7.5
    given = detect(participant_from_folder(participant), path, device="cpu", runtime="torch", stages=1)
    assert "swi_echo_time_ms" not in given.settings  # the U-Net alone does not take it

    bare = tmp_path / "bare"
    shutil.copytree(participant, bare)
    (bare / "swi.json").unlink()
    stages = []
    with pytest.raises(InputError, match="takes the SWI's echo time, and none was given") as error:
        detect(participant_from_folder(bare), path, device="cpu", runtime="torch", stage=stages.append)
    assert "bare" in str(error.value) and "inference" not in stages and "reading and aligning images" not in stages
    inputs = participant_from_folder(bare)
    inputs.swi_echo_time_ms = 7.5
    assert np.array_equal(detect(inputs, path, device="cpu", runtime="torch").labels.array, detection.labels.array)

    disagreeing = participant_from_folder(participant)
    disagreeing.swi_echo_time_ms = 20.0
    with pytest.raises(InputError, match="the sidecar's echo time 7.5 ms is not the 20 ms given"):
        detect(disagreeing, path, device="cpu", runtime="torch")


def test_the_command_line_takes_the_echo_time_in_milliseconds(echo_time_model, slab_cohort, tmp_path, capsys):
    path, _ = echo_time_model
    bare = tmp_path / "cohort" / "p1"
    shutil.copytree(slab_cohort / "sim-41-0002", bare)
    (bare / "swi.json").unlink()
    assert main(["predict", "--model", str(path), "--input", str(tmp_path / "cohort"), "--out", str(tmp_path / "none"), "--device", "cpu"]) != 0
    assert "takes the SWI's echo time" in capsys.readouterr().out + (tmp_path / "none" / "cohort.tsv").read_text()
    assert main(["predict", "--model", str(path), "--input", str(tmp_path / "cohort"), "--out", str(tmp_path / "out"), "--device", "cpu",
                 "--swi-echo-time", "7.5"]) == 0
    report = json.loads((tmp_path / "out" / "p1" / "prediction.json").read_text())
    assert report["settings"]["swi_echo_time_ms"] == 7.5
    with pytest.raises(SystemExit):
        main(["predict", "--model", str(path), "--swi", str(bare / "swi.nii.gz"), "--out", str(tmp_path / "s"), "--swi-echo-time", "0.02"])
    assert "--swi-echo-time" in capsys.readouterr().err
    assert main(["info", str(path)]) == 0
    assert "takes the SWI's echo time" in capsys.readouterr().out


def test_the_slicer_worker_is_given_the_echo_time(tmp_path):
    command = worker_command(tmp_path / "swi.nii.gz", tmp_path / "out", swi_echo_time_ms=20.0)
    assert command[command.index("--swi-echo-time") + 1] == "20.0"
    assert "--swi-echo-time" not in worker_command(tmp_path / "swi.nii.gz", tmp_path / "out")


def test_onnx_runtime_gives_the_echo_time_classifier_the_same_labels(echo_time_model, slab_cohort, tmp_path):
    """The ONNX export takes the card's seven features (onnxrt.export_second_stage)."""
    pytest.importorskip("onnxruntime", reason="the fast extra (onnxruntime) is not installed")
    path, _ = echo_time_model
    participant = participant_from_folder(slab_cohort / "sim-41-0002")
    on_torch = detect(participant, path, device="cpu", runtime="torch")
    on_onnx = detect(participant, path, device="cpu", runtime="onnxruntime")
    assert np.array_equal(on_torch.labels.array, on_onnx.labels.array)


def _dicom_series(folder, echo_times):
    """A small axial DICOM series, slice k with Echo Time echo_times[k] (None: no tag)."""
    import locale

    import SimpleITK as sitk

    folder.mkdir()
    image = sitk.Image(8, 8, len(echo_times), sitk.sitkInt16)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    for z, echo_time in enumerate(echo_times):
        plane = image[:, :, z]
        tags = {"0008|0060": "MR", "0020|000d": "1.2.826.0.1.3680043.2.1125.1.51", "0020|000e": "1.2.826.0.1.3680043.2.1125.1.52",
                "0020|0013": str(z + 1), "0020|0032": f"0\\0\\{z:.1f}", "0020|0037": "1\\0\\0\\0\\1\\0", "0018|0050": "1.0"}
        if echo_time is not None:
            tags["0018|0081"] = echo_time
        for tag, value in tags.items():
            plane.SetMetaData(tag, value)
        writer.SetFileName(str(folder / f"slice{z:02d}.dcm"))
        writer.Execute(plane)
    locale.setlocale(locale.LC_ALL, "C.UTF-8")  # the writer leaves GDCM's "C" locale behind
    return folder


def test_a_dicom_series_gives_its_echo_time_unless_a_sidecar_does(tmp_path):
    series = _dicom_series(tmp_path / "swi", ["20", "20", "20"])
    assert read_swi_echo_time(series) == 20.0
    sidecar_path(series).write_text(json.dumps({"EchoTime": 0.02}))
    assert read_swi_echo_time(series) == 20.0
    sidecar_path(series).write_text(json.dumps({"EchoTime": 0.025}))
    assert read_swi_echo_time(series) == 25.0  # the sidecar first (it may correct a header)
    assert read_swi_echo_time(_dicom_series(tmp_path / "none", [None, None])) is None
    with pytest.raises(InputError, match="give 2 echo times"):
        read_swi_echo_time(_dicom_series(tmp_path / "mixed", ["7.5", "15"]))
    with pytest.raises(InputError, match="is not a number from 1 to 100 ms"):
        read_swi_echo_time(_dicom_series(tmp_path / "seconds", ["0.02", "0.02"]))


def test_calibrating_an_echo_time_model_reads_each_participants_echo_time(echo_time_model, slab_cohort, tmp_path, capsys):
    """deepmir calibrate scores the classifier with each participant's sidecar echo time; the
    calibrated copy still takes it."""
    path, _ = echo_time_model
    assert main(["calibrate", "--model", str(path), "--data", str(slab_cohort), "--out", str(tmp_path / "calibrated"), "--device", "cpu"]) == 0
    calibrated = load_model(tmp_path / "calibrated.json")
    assert calibrated.card.second_stage.uses_echo_time
    assert "3 participants" in calibrated.card.second_stage.calibration["data"]
