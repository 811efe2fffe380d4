import json

import pytest
import torch
from safetensors.torch import save_file

from DeepMIRLib.errors import InputError
from DeepMIRLib.modelfile import ModelCard, load_model, model_paths, resolve_model, save_model, sha256_of
from DeepMIRLib.unet import UNet2D


def test_unet_has_six_levels_and_keeps_the_size():
    network = UNet2D(in_channels=3, num_classes=2, base_width=4).eval()
    assert len(network.down) == 5 and network.size_multiple == 32
    x = torch.randn(2, 3, 256, 256)
    bottom_sizes = []
    network.bottom.register_forward_hook(lambda module, inputs, output: bottom_sizes.append(output.shape[-2:]))
    with torch.no_grad():
        logits = network(x)
    assert bottom_sizes[0] == (8, 8)  # 256 -> 8 at the bottom, as in S2.1
    assert logits.shape == (2, 3, 256, 256)  # background + 2 classes
    probabilities = network.probabilities(logits)
    assert probabilities.shape == (2, 2, 256, 256)
    assert torch.all(probabilities.sum(dim=1) <= 1 + 1e-5)


def test_unet_runs_on_any_multiple_of_32():
    network = UNet2D(in_channels=1, num_classes=1, base_width=4).eval()
    with torch.no_grad():
        out = network.probabilities(network(torch.randn(1, 1, 96, 160)))
    assert out.shape == (1, 1, 96, 160)
    assert torch.all((out >= 0) & (out <= 1))


def test_multiclass_head_relu_option_changes_the_output():
    torch.manual_seed(0)
    network = UNet2D(1, 2, base_width=4, head_relu=True).eval()
    logits = torch.randn(1, 3, 8, 8) - 1.0
    with_relu = network.probabilities(logits)
    network.head_relu = False
    assert not torch.allclose(with_relu, network.probabilities(logits))


def _tiny_model(tmp_path, task="multiclass", inputs=("swi", "qsm", "t2")):
    network = UNet2D(len(inputs), 2 if task == "multiclass" else 1, base_width=4)
    card = ModelCard.for_network(network, "tiny-test", "0.0.1", task, list(inputs), training={"data": "none, untrained"})
    return network, save_model(network, card, tmp_path / "tiny")


def test_model_round_trip(tmp_path):
    network, card_path = _tiny_model(tmp_path)
    loaded = load_model(card_path)
    assert loaded.card.inputs == ["swi", "qsm", "t2"]
    assert [c.name for c in loaded.card.classes] == ["Cerebral microbleed", "Iron deposit"]
    assert loaded.card.architecture.base_width == 4
    for key, value in network.state_dict().items():
        assert torch.equal(value, loaded.network.state_dict()[key])
    assert not loaded.network.training
    # both files are plain: JSON text and a safetensors header, no pickle
    card = json.loads(card_path.read_text())
    assert card["weights_sha256"] and card["format"] == "deepmir-model-card"
    assert model_paths(card_path)[1].read_bytes()[8:9] == b"{"


def test_loading_refuses_tampered_weights(tmp_path):
    _, card_path = _tiny_model(tmp_path)
    weights = model_paths(card_path)[1]
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(InputError, match="sha256"):
        load_model(card_path)


def test_loading_refuses_a_card_that_disagrees_with_the_weights(tmp_path):
    _, card_path = _tiny_model(tmp_path)
    card = json.loads(card_path.read_text())
    card["architecture"]["base_width"] = 8
    card_path.write_text(json.dumps(card))
    with pytest.raises(InputError, match="do not fit the architecture"):
        load_model(card_path)


def test_card_inputs_must_match_channels(tmp_path):
    _, card_path = _tiny_model(tmp_path)
    card = json.loads(card_path.read_text())
    card["inputs"] = ["swi", "qsm"]
    card_path.write_text(json.dumps(card))
    with pytest.raises(InputError, match="3 input channels"):
        load_model(card_path)


def test_missing_modality_is_named(tmp_path):
    _, card_path = _tiny_model(tmp_path)
    card = load_model(card_path).card
    with pytest.raises(InputError, match="no QSM was given"):
        card.check_inputs({"swi": "a", "t2": "b"})
    card.check_inputs({"swi": "a", "qsm": "q", "t2": "b"})


def test_unknown_model_lists_the_registry(tmp_path):
    with pytest.raises(InputError, match="no such model"):
        resolve_model("no-such-model")


def test_registry_entries_resolve_and_check_the_checksum(tmp_path):
    from DeepMIRLib.modelfile import register_model

    registry = tmp_path / "registry.json"
    _network, card_path = _tiny_model(tmp_path)
    entry = register_model(card_path, "tiny", default=True, registry_path=registry)
    assert entry["inputs"] == ["swi", "qsm", "t2"] and entry["default"]
    assert resolve_model("default", registry) == card_path
    assert resolve_model("tiny@0.0.1", registry) == card_path
    with pytest.raises(InputError, match="no such model"):
        resolve_model("tiny@9.9", registry)
    weights = model_paths(card_path)[1]
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(InputError, match="registry's sha256"):
        resolve_model("tiny", registry)


def test_registering_a_new_version_saved_over_an_older_ones_files_replaces_its_entry(tmp_path):
    """As a ship script does: the new default's files overwrite the old default's in the registry's folder."""
    from DeepMIRLib.modelfile import register_model
    from DeepMIRLib.registry import read_registry

    registry = tmp_path / "registry.json"
    network, card_path = _tiny_model(tmp_path)
    register_model(card_path, "tiny", default=True, registry_path=registry)
    other = ModelCard.for_network(UNet2D(3, 2, base_width=4), "other", "1.0.0", "multiclass", ["swi", "qsm", "t2"])
    register_model(save_model(UNet2D(3, 2, base_width=4), other, tmp_path / "other"), "other", registry_path=registry)
    newer = ModelCard.for_network(network, "tiny-test", "0.0.2", "multiclass", ["swi", "qsm", "t2"])
    assert save_model(network, newer, tmp_path / "tiny") == card_path
    register_model(card_path, "tiny", default=True, registry_path=registry)
    entries = {(e["id"], e["version"]): e["default"] for e in read_registry(registry)}
    assert entries == {("other", "1.0.0"): False, ("tiny", "0.0.2"): True}
    assert resolve_model("tiny", registry) == card_path


def test_the_bundled_registry_says_what_its_models_cards_and_files_say():
    """Version, checksums, calibration and int8 file of every bundled entry come from the card
    (modelfile.registry_entry); only the id, the default flag and the curated training summary
    are the registry's own. 0.5.3 shipped with 0.5.2's calibration text in its entry."""
    from DeepMIRLib.modelfile import registry_entry
    from DeepMIRLib.registry import REGISTRY_PATH, read_registry

    entries = read_registry()
    assert entries and sum(entry["default"] for entry in entries) == 1
    for entry in entries:
        assert entry == registry_entry(REGISTRY_PATH.parent / entry["file"], entry["id"], entry["default"], entry["trained_on"])


def test_the_calibration_summary_names_participants_a_classifier_was_calibrated_on_apart():
    """A classifier whose minimums were chosen on other participants than the U-Net's (0.5.5's
    iron classifier for short echo times) has them named beside its minimum; one calibrated on
    the U-Net's participants has nothing added."""
    import copy
    import dataclasses

    from DeepMIRLib.modelfile import calibration_summary, load_model

    card = copy.deepcopy(load_model("default").card)
    unet_data = card.training["calibration"]["data"]
    same = {"data": unet_data.split(": ")[0] + ": sim-1-0000, sim-1-0001"}
    apart = {"data": "7 simulated participants (deepmir simulate --n 7 --seed 99): sim-99-0000"}
    card.second_stages = tuple(dataclasses.replace(spec, calibration=apart if index == 1 else same)
                               for index, spec in enumerate(card.second_stages))
    text = calibration_summary(card)
    assert text.count(", chosen on ") == 1 and ", chosen on 7 simulated participants (deepmir simulate --n 7 --seed 99)" in text
    assert "sim-99-0000" not in text


@pytest.mark.parametrize("levels, width, in_channels, num_classes", [(6, 16, 3, 2), (2, 1, 1, 1), (4, 3, 2, 2), (5, 8, 3, 1)])
def test_the_cards_tensor_shapes_are_the_networks(levels, width, in_channels, num_classes):
    """load_model checks weights against shapes computed without torch: they are the U-Net's."""
    from DeepMIRLib.modelfile import Architecture

    network = UNet2D(in_channels, num_classes, width, levels)
    expected = {k: (tuple(v.shape), v.dtype.is_floating_point) for k, v in network.state_dict().items()}
    shapes = Architecture.of(network).tensor_shapes()
    assert list(shapes) == list(expected) and shapes == expected


@pytest.mark.parametrize("width, in_channels", [(16, 4), (3, 2)])
def test_the_second_stages_tensor_shapes_are_the_classifiers(width, in_channels):
    from DeepMIRLib.secondstage import CandidateNet, SecondStageSpec

    network = CandidateNet(in_channels, width)
    expected = {k: (tuple(v.shape), v.dtype.is_floating_point) for k, v in network.state_dict().items()}
    assert SecondStageSpec("cnn3d", width, in_channels, (5, 8, 8)).tensor_shapes() == expected


def test_the_network_is_built_when_first_asked_for_and_named_by_its_weights(tmp_path):
    """load_model builds no network; the ONNX cache key is the checked file's sha256 while the
    network in memory is the file's, and the tensors' own digest once it is changed or replaced."""
    network, card_path = _tiny_model(tmp_path)
    loaded = load_model(card_path)
    assert not loaded.network_built
    key = loaded.weights_key()
    assert key == f"file:{loaded.card.weights_sha256}" and not loaded.network_built  # computed without building it
    assert not loaded.network.training and loaded.network_built
    for name, value in network.state_dict().items():
        assert torch.equal(value, loaded.network.state_dict()[name])
    assert loaded.weights_key() == key  # built, unchanged: the same export
    original = loaded.network.head.bias.clone()
    with torch.no_grad():
        loaded.network.head.bias += 1.0
    changed = loaded.weights_key()
    assert changed.startswith("memory:") and changed != key
    with torch.no_grad():
        loaded.network.head.bias.copy_(original)
    assert loaded.weights_key() == key
    loaded.network = UNet2D(3, 2, base_width=4)  # replaced: named by its own tensors
    assert loaded.weights_key().startswith("memory:")


def test_weights_replaced_after_loading_are_refused_when_the_network_is_built(tmp_path):
    _, card_path = _tiny_model(tmp_path)
    loaded = load_model(card_path)
    other = UNet2D(3, 2, base_width=4)
    save_model(other, ModelCard.for_network(other, "other", "0", "multiclass", ["swi", "qsm", "t2"]), tmp_path / "other")
    model_paths(card_path)[1].write_bytes(model_paths(tmp_path / "other")[1].read_bytes())
    with pytest.raises(InputError, match="changed on disk since the model was loaded"):
        loaded.network  # noqa: B018


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float64])
def test_weights_of_other_float_types_are_checked_without_torch(tmp_path, dtype):
    """The finiteness check reads float16/64 with numpy and bfloat16 by its bits."""
    network = UNet2D(3, 2, base_width=4)
    tensors = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in network.state_dict().items()}
    card = ModelCard.for_network(network, "typed", "0", "multiclass", ["swi", "qsm", "t2"])

    def write(tensors):
        save_file(tensors, str(tmp_path / "typed.safetensors"))
        card.weights_sha256 = sha256_of(tmp_path / "typed.safetensors")
        (tmp_path / "typed.json").write_text(json.dumps(card.to_dict()))
        return tmp_path / "typed.json"

    loaded = load_model(write(tensors))
    assert torch.allclose(loaded.network.head.bias, network.head.bias.to(dtype).float())
    for bad in (float("nan"), float("inf"), float("-inf")):
        tensors["down.0.0.weight"].view(-1)[3] = bad
        with pytest.raises(InputError, match="NaN or infinite"):
            load_model(write(tensors))
