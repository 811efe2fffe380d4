"""A model's card and classifiers with another U-Net (secondstage.with_unet, `python -m
DeepMIRLib.secondstage --unet`): what a U-Net round builds before it trains the classifiers again
and calibrates (docs/experiments/2026-11-29-putamen-unet, 2026-11-29-unet-own-classifier)."""

from __future__ import annotations

import copy

import pytest
import torch

from DeepMIRLib.errors import InputError
from DeepMIRLib.modelfile import load_model, save_model, state_digest
from DeepMIRLib.secondstage import main, with_unet


@pytest.fixture(scope="module")
def tuned_unet(tmp_path_factory):
    """The default's U-Net with its weights moved (as a fine-tune moves them), as a one-stage
    model with a training section of its own."""
    base = load_model("default")
    network = copy.deepcopy(base.network)
    torch.manual_seed(3)
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))
    card = copy.deepcopy(base.card)
    card.second_stage = None
    card.version = "9.9.9-unet"
    card.training = {"data": "a test's", "fine_tuned_from": f"{base.card.name} {base.card.version}'s U-Net", "best_epoch": 1}
    return save_model(network, card, tmp_path_factory.mktemp("tuned") / "tuned")


def test_the_copy_has_the_new_unet_the_old_classifiers_and_minimums_and_says_they_were_not_chosen_for_it(tuned_unet, tmp_path, capsys):
    base = load_model("default")
    assert main(["--model", "default", "--unet", str(tuned_unet), "--out", str(tmp_path / "m.json"), "--version", "9.9.9"]) == 0
    assert "m.json" in capsys.readouterr().out
    made, tuned = load_model(tmp_path / "m.json"), load_model(tuned_unet)
    assert state_digest(made.network) == state_digest(tuned.network) != state_digest(base.network)
    assert [state_digest(n) for n in made.second_stage_networks] == [state_digest(n) for n in base.second_stage_networks]
    assert [s.min_probability for s in made.card.second_stages] == [s.min_probability for s in base.card.second_stages]
    assert [s.echo_times for s in made.card.second_stages] == [s.echo_times for s in base.card.second_stages]
    assert made.card.postprocessing == base.card.postprocessing and made.card.version == "9.9.9"
    assert made.card.training["fine_tuned_from"] == tuned.card.training["fine_tuned_from"]
    assert "not chosen for this one" in made.card.training["calibration"]["note"]
    assert made.card.int8 is None and base.card.int8 is not None  # the int8 file is the old U-Net quantized
    assert made.card.metrics == {} != base.card.metrics  # measured with the old U-Net


def test_a_unet_of_another_architecture_or_inputs_is_refused(tmp_path):
    base = load_model("default")
    for field in ("architecture", "inputs"):
        card = copy.deepcopy(base.card)
        card.second_stage = None
        if field == "architecture":
            card.architecture = type(card.architecture)(**{**card.architecture.__dict__, "base_width": 4})
        else:
            card.inputs = ["swi", "t2", "qsm"]  # the same three, in another order
        network = card.architecture.build_network()
        other = save_model(network, card, tmp_path / field)
        with pytest.raises(InputError, match=f"U-Net's {field} differs"):
            with_unet(base, other, tmp_path / f"out-{field}")
        assert not (tmp_path / f"out-{field}.json").exists()


def test_the_command_refuses_unet_with_training_options(tuned_unet, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--model", "default", "--unet", str(tuned_unet), "--train", str(tmp_path), "--out", str(tmp_path / "m.json")])
    assert "--unet trains and calibrates nothing" in capsys.readouterr().err
