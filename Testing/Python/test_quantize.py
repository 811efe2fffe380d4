"""`deepmir quantize` and `--runtime onnxruntime-int8` (DeepMIRLib.quantize, onnxrt, the card's
int8 section in modelfile): the default U-Net quantized on two slab participants gives
probabilities close to float32's and the same labels on almost every voxel of a participant
it was not calibrated on; the card's int8 section reads and writes back, cards without it as
before; a damaged, missing or stale int8 file is refused with its sha256; the runtime on a
model without the file is a clear error before any output; "auto" never picks int8, and an
int8 detection says so in its settings."""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil

import numpy as np
import pytest

from DeepMIRLib import onnxrt
from DeepMIRLib.cli import main
from DeepMIRLib.errors import InputError
from DeepMIRLib.inference import network_runtime
from DeepMIRLib.modelfile import Int8Spec, ModelCard, load_model, read_card, resolve_model, save_model
from DeepMIRLib.pipeline import detect, participant_from_folder
from DeepMIRLib.quantize import head_nodes

pytest.importorskip("onnxruntime", reason="the fast extra (onnxruntime, onnx) is not installed")
pytest.importorskip("onnx", reason="the fast extra (onnxruntime, onnx) is not installed")

# int8 against float32, the U-Net alone, every lesion kept (min_probability 0). Measured when
# written: sim-41-0002 (not calibrated on) largest probability difference 0.122, 0 label voxels
# differing of 44 lesion voxels; sim-41-0000 (calibrated on, 70 CMB) 0.160 and 7 of 512.
PROBABILITY_TOLERANCE = 0.3  # largest absolute difference of a class probability, any voxel
LESION_VOXEL_FRACTION = 0.05  # differing label voxels over the voxels that either map calls a lesion
CALIBRATION = ("sim-41-0000", "sim-41-0001")


@pytest.fixture(scope="module")
def quantized(slab_cohort, tmp_path_factory):
    """The default model (both stages) quantized by the command line on two slab participants."""
    out = tmp_path_factory.mktemp("quantized") / "quantized"
    assert main(["quantize", "--model", "default", "--data", str(slab_cohort), "--out", str(out),
                 "--participants", str(len(CALIBRATION)), "--threads", "1"]) == 0
    return out.with_suffix(".json")


def test_the_command_writes_a_loadable_model_with_its_int8_file(quantized):
    model = load_model(quantized)
    spec = model.card.int8
    assert model.int8_file == quantized.parent / spec.file == quantized.with_suffix(".int8.onnx")
    assert spec.calibration["participants"] == list(CALIBRATION)
    assert spec.calibration["slices"] > 0 and spec.calibration["batches"] > 0
    assert spec.weights_sha256 == model.card.weights_sha256
    import onnx
    import onnxruntime

    assert spec.onnxruntime == onnxruntime.__version__
    graph = onnx.load(str(model.int8_file))
    kinds = {node.op_type for node in graph.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= kinds  # QDQ format
    # the head stays float32: its convolution's weight is not dequantized from int8
    assert set(spec.float32_nodes) == {"/inner/head/Conv", "/Softmax", "/Slice"}
    head = next(node for node in graph.graph.node if node.name == "/inner/head/Conv")
    initializers = {tensor.name for tensor in graph.graph.initializer}
    assert head.input[1] in initializers
    # the float32 parts of the model are the default's
    default = load_model("default")
    assert model.has_second_stage
    def unnamed(spec):  # the file name and its bytes' sha256 (safetensors metadata name the model) differ
        return dataclasses.replace(spec, weights_file="", weights_sha256="")

    assert unnamed(model.card.second_stage) == unnamed(default.card.second_stage)
    assert model.card.postprocessing == default.card.postprocessing


@pytest.mark.parametrize("name", ["sim-41-0002", "sim-41-0000"])
def test_int8_is_close_to_float32(quantized, slab_cohort, name):
    """The U-Net alone, every lesion kept, on the participant the calibration did not see and
    on one it saw (more lesions)."""
    participant = participant_from_folder(slab_cohort / name)
    reference = detect(participant, quantized, device="cpu", runtime="onnxruntime", stages=1, min_probability=0)
    detection = detect(participant, quantized, device="cpu", runtime="onnxruntime-int8", stages=1, min_probability=0)
    largest = max(float(np.abs(detection.probabilities[k].array - reference.probabilities[k].array).max())
                  for k in reference.probabilities)
    assert 0 < largest < PROBABILITY_TOLERANCE  # not float32's file run twice
    one, other = reference.labels.array, detection.labels.array
    assert (one == 1).any() and set(np.unique(one)) <= {0, 1, 2}  # lesions to compare (sim-41-0002 holds no iron deposit)
    lesion_voxels = int(((one > 0) | (other > 0)).sum())
    assert int((one != other).sum()) <= LESION_VOXEL_FRACTION * lesion_voxels
    assert detection.settings == {**reference.settings, "runtime": "onnxruntime", "precision": "int8"}
    assert "runtime" not in reference.settings


def test_the_second_stage_stays_float32(quantized, slab_cohort):
    participant = participant_from_folder(slab_cohort / "sim-41-0002")
    detection = detect(participant, quantized, device="cpu", runtime="onnxruntime-int8", stages=2)
    model = load_model(quantized)
    opened = {name for name, _ in onnxrt._SESSIONS}
    assert str(onnxrt.second_stage_onnx_path(model)) in opened
    assert f"int8:{model.card.int8.sha256}" in opened
    assert detection.settings["stages"] == 2 and detection.settings["precision"] == "int8"


def test_the_bundled_default_runs_in_int8(slab_cohort):
    """Where the bundled default ships its int8 file (quantized on simulated calibration
    participants, seed 730), it loads, is checked, and is close to float32 as above."""
    model = load_model("default")
    if model.int8_file is None:
        pytest.skip("the bundled default ships no int8 file")
    assert model.card.int8.weights_sha256 == model.card.weights_sha256
    participant = participant_from_folder(slab_cohort / "sim-41-0002")
    reference = detect(participant, model, device="cpu", runtime="onnxruntime", stages=1, min_probability=0)
    detection = detect(participant, model, device="cpu", runtime="onnxruntime-int8", stages=1, min_probability=0)
    largest = max(float(np.abs(detection.probabilities[k].array - reference.probabilities[k].array).max())
                  for k in reference.probabilities)
    assert 0 < largest < PROBABILITY_TOLERANCE
    one, other = reference.labels.array, detection.labels.array
    assert int((one != other).sum()) <= LESION_VOXEL_FRACTION * int(((one > 0) | (other > 0)).sum())


def test_auto_never_picks_int8():
    assert network_runtime("auto", "cpu") == "onnxruntime"
    assert network_runtime("onnxruntime-int8", "auto") == network_runtime("onnxruntime-int8", "cpu") == "onnxruntime"
    assert onnxrt.settings("auto") == onnxrt.settings("onnxruntime") == {}
    with pytest.raises(Exception, match="CPU only"):
        network_runtime("onnxruntime-int8", "cuda")


def test_card_round_trip_with_and_without_the_section(quantized, unet_only_model, tmp_path):
    for path in (quantized, resolve_model("default").with_suffix(".json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if "int8" not in data:  # the bundled card, where its int8 file is not shipped
            continue
        assert set(data["int8"]) == set(Int8Spec.__dataclass_fields__)
        card = ModelCard.from_dict(data, path)
        assert card.to_dict() == data
        assert path.read_text(encoding="utf-8") == json.dumps(card.to_dict(), indent=2) + "\n"
    # a card without the section reads and writes as before
    plain = json.loads(unet_only_model.read_text(encoding="utf-8"))
    assert "int8" not in plain and read_card(unet_only_model).int8 is None
    assert read_card(unet_only_model).to_dict() == plain
    assert unet_only_model.read_text(encoding="utf-8") == json.dumps(plain, indent=2) + "\n"
    without = json.loads(quantized.read_text(encoding="utf-8"))
    del without["int8"]
    assert ModelCard.from_dict(without).to_dict() == without
    # saved without its file, a card loses the section (the file cannot come along)
    model = load_model(quantized)
    saved = save_model(model.network, copy.deepcopy(model.card), tmp_path / "copy", second_stage=model.second_stage_networks)
    assert "int8" not in json.loads(saved.read_text(encoding="utf-8"))
    assert load_model(saved).int8_file is None


@pytest.mark.parametrize("bad", [{"file": "../x.onnx", "sha256": "0" * 64}, {"file": "x.onnx", "sha256": "abc"},
                                 {"file": "x.onnx"}, {"file": "x.onnx", "sha256": "0" * 64, "float32_nodes": "head"},
                                 {"file": "x.onnx", "sha256": "0" * 64, "colour": "red"}, ["x.onnx"]])
def test_a_malformed_section_is_refused(quantized, bad):
    data = json.loads(quantized.read_text(encoding="utf-8"))
    data["int8"] = bad
    with pytest.raises(InputError, match="int8"):
        ModelCard.from_dict(data, "card.json")


def _copy_model(card_path, folder):
    folder.mkdir()
    for path in card_path.parent.glob(card_path.stem + ".*"):
        shutil.copy(path, folder / path.name)
    return folder / card_path.name


def test_a_damaged_int8_file_fails_its_sha256(quantized, tmp_path):
    copied = _copy_model(quantized, tmp_path / "damaged")
    int8 = copied.with_suffix(".int8.onnx")
    data = bytearray(int8.read_bytes())
    data[len(data) // 2] ^= 0xFF
    int8.write_bytes(bytes(data))
    with pytest.raises(InputError, match="int8 file does not match the sha256"):
        load_model(copied)
    int8.unlink()
    with pytest.raises(InputError, match="int8 file not found"):
        load_model(copied)


def test_an_int8_file_changed_after_loading_is_refused(quantized, tmp_path):
    copied = _copy_model(quantized, tmp_path / "changed")
    model = load_model(copied)
    int8 = copied.with_suffix(".int8.onnx")
    int8.write_bytes(int8.read_bytes()[:-1] + b"\0")
    with pytest.raises(InputError, match="changed on disk"):
        model.int8_bytes()  # what a session is opened from (once per process and sha256: onnxrt.int8_network_for)


def test_an_int8_file_of_other_weights_is_refused(quantized, tmp_path):
    copied = _copy_model(quantized, tmp_path / "stale")
    data = json.loads(copied.read_text(encoding="utf-8"))
    data["int8"]["weights_sha256"] = "0" * 64
    copied.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError, match="quantized from other weights"):
        load_model(copied)


def test_int8_without_the_file_is_a_clear_error(unet_only_model, slab_cohort, tmp_path, capsys):
    participant = participant_from_folder(slab_cohort / "sim-41-0000")
    with pytest.raises(InputError, match="has no int8 file; make one with deepmir quantize"):
        detect(participant, unet_only_model, device="cpu", runtime="onnxruntime-int8")
    out = tmp_path / "out"
    assert main(["predict", "--model", str(unet_only_model), "--input", str(slab_cohort), "--out", str(out),
                 "--runtime", "onnxruntime-int8"]) == 2
    assert "--runtime: onnxruntime-int8: model" in capsys.readouterr().err
    assert not out.exists()  # refused before any participant


def test_head_nodes_of_a_sigmoid_export(tmp_path):
    """The head of a one-class (sigmoid) U-Net export is its last convolution and the sigmoid."""
    import onnx

    from DeepMIRLib.unet import UNet2D

    path = onnxrt._export(UNet2D(1, 1, 2, 3), {"slices": (1, 1, 32, 32)}, {}, tmp_path / "sigmoid.onnx")
    assert head_nodes(onnx.load(str(path))) == ["/Sigmoid", "/inner/head/Conv"]
