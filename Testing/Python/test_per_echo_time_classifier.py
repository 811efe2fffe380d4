"""A class decided by one classifier for short echo times and another for long ones
(SecondStageSpec.echo_times, secondstage.per_echo_time_model): the card's checks, detection
that runs the classifier for the SWI's echo time (the short-echo one where it is not known), and
the commands that build and refuse such a model."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from test_long_echo import with_long_echo_sidecar

from DeepMIRLib import secondstage
from DeepMIRLib.cli import main
from DeepMIRLib.errors import InputError
from DeepMIRLib.modelfile import ModelCard, load_model
from DeepMIRLib.pipeline import detect, participant_from_folder
from DeepMIRLib.secondstage import SecondStageSpec, per_class_model, per_echo_time_model, write_model_copy

SECTION = {"architecture": "cnn3d", "width": 4, "in_channels": 4, "patch": [9, 20, 20], "decides": ["iron"]}


def test_a_classifier_runs_below_its_echo_time_or_where_it_is_not_known_and_its_partner_from_it():
    below = SecondStageSpec.from_dict({**SECTION, "echo_times": {"below_ms": 15}})
    start = SecondStageSpec.from_dict({**SECTION, "echo_times": {"from_ms": 15}})
    assert [below.applies_to(ms) for ms in (7.5, 14.9, 15.0, 25.0, None)] == [True, True, False, False, True]
    assert [start.applies_to(ms) for ms in (7.5, 14.9, 15.0, 25.0, None)] == [False, False, True, True, False]
    assert SecondStageSpec.from_dict(SECTION).applies_to(None) and SecondStageSpec.from_dict(SECTION).applies_to(40.0)
    assert SecondStageSpec.from_dict(below.to_dict()) == below and "echo_times" not in SecondStageSpec.from_dict(SECTION).to_dict()


@pytest.mark.parametrize("echo_times, message", [
    ({"below_ms": 15, "from_ms": 15}, "one of 'below_ms' and 'from_ms'"),
    ({}, "one of 'below_ms' and 'from_ms'"),
    ({"above_ms": 15}, "one of 'below_ms' and 'from_ms'"),
    ({"from_ms": 0.015}, "from_ms"),  # seconds given for milliseconds
    ([15], "one of 'below_ms' and 'from_ms'"),
])
def test_a_wrong_echo_times_section_is_refused_by_name(echo_times, message):
    with pytest.raises(InputError, match=message):
        SecondStageSpec.from_dict({**SECTION, "echo_times": echo_times}, "card.json")


def test_a_long_echo_minimum_that_a_short_echo_classifier_never_applies_is_refused():
    with pytest.raises(InputError, match="never applies"):
        SecondStageSpec.from_dict({**SECTION, "echo_times": {"below_ms": 15}, "long_echo": {"from_ms": 20, "min_probability": {"iron": 0.5}}})


@pytest.fixture(scope="module")
def split(two_classifier_model, scoring_two_stage_model, tmp_path_factory):
    """The default's two classifiers with the iron one running below 15 ms, and the scoring
    model's classifier deciding iron from 15 ms; what it should equal from 15 ms: a per-class
    model of the default's microbleed classifier and the scoring one for iron; and what it should
    equal below: the default's two classifiers."""
    folder = tmp_path_factory.mktemp("per-echo-time")
    default = load_model(two_classifier_model)
    card = copy.deepcopy(default.card)
    card.second_stages = card.second_stages[:1]
    cmb_only = write_model_copy(default, card, [default.path.parent / default.card.second_stages[0].weights_file], folder / "cmb-only")
    return {"split": per_echo_time_model(default, "iron", scoring_two_stage_model, 15, folder / "split", version="9.9.3"),
            "long": per_class_model({"cmb": cmb_only, "iron": scoring_two_stage_model}, folder / "long", base=default),
            "short": two_classifier_model}


def test_the_card_lists_the_two_iron_classifiers_with_their_echo_times(split, scoring_two_stage_model, capsys):
    card = load_model(split["split"]).card
    assert [spec.decides for spec in card.second_stages] == [("cmb",), ("iron",), ("iron",)]
    assert [spec.echo_times for spec in card.second_stages] == [None, {"below_ms": 15.0}, {"from_ms": 15.0}]
    default = load_model(split["short"]).card
    assert card.second_stages[1].weights_sha256 == default.second_stages[1].weights_sha256 and card.version == "9.9.3"
    assert card.second_stages[2].weights_sha256 == load_model(scoring_two_stage_model).card.second_stage.weights_sha256
    assert card.second_stages[2].min_probability == {"cmb": 0.4, "iron": 0.4}  # the long-echo classifier keeps its own minimums
    assert [spec.weights_file for spec in card.second_stages] == ["split.second.safetensors", "split.second2.safetensors",
                                                                   "split.second3.safetensors"]
    assert main(["info", str(split["split"]), "--check"]) == 0
    out = capsys.readouterr().out
    assert "decides iron (for SWI echo times below 15 ms or not known" in out and "decides iron (for SWI echo times from 15 ms" in out


def test_cards_whose_echo_time_classifiers_leave_a_gap_or_overlap_are_refused(split):
    data = json.loads(split["split"].read_text())
    cmb, short, long = data["second_stage"]
    other_time = {**long, "echo_times": {"from_ms": 20}}
    unranged = {k: v for k, v in long.items() if k != "echo_times"}
    for sections in ([cmb, short], [cmb, long], [cmb, short, other_time], [cmb, short, unranged], [cmb, short, long, long]):
        with pytest.raises(InputError, match="give exactly two"):
            ModelCard.from_dict({**data, "second_stage": sections})
    opinion = {**cmb, "decides": ["cmb"], "second_opinion": {"from": 2, "min_probability": {"cmb": 0.5}}}
    with pytest.raises(InputError, match="does not run at every echo time"):
        ModelCard.from_dict({**data, "second_stage": [opinion, short, long]})


def test_detection_runs_the_iron_classifier_for_the_swi_s_echo_time(split, slab_cohort, tmp_path):
    """At 7.5 ms and where the echo time is not known the split model labels as the default's
    two classifiers; at 25 ms as the per-class model with the scoring classifier for iron (which
    labels otherwise than those two there); the settings and notes say which classifier ran."""
    nominal = slab_cohort / "sim-41-0000"
    long_echo = with_long_echo_sidecar(nominal, tmp_path / "long-echo", 0.025)
    unknown = tmp_path / "unknown"
    unknown.mkdir()
    for path in nominal.iterdir():
        if path.name != "swi.json":
            (unknown / path.name).symlink_to(path)

    def run(folder, model):
        return detect(participant_from_folder(folder), model, device="cpu", runtime="torch")

    short = run(nominal, split["split"])
    assert np.array_equal(short.labels.array, run(nominal, split["short"]).labels.array)
    assert [s.get("second_stage_echo_times") for s in short.settings["second_stages"]] == [
        None, {"below_ms": 15.0, "ran": True}, {"from_ms": 15.0, "ran": False}]
    assert not any("classifier" in note for note in short.notes)

    long = run(long_echo, split["split"])
    assert np.array_equal(long.labels.array, run(long_echo, split["long"]).labels.array)
    assert not np.array_equal(long.labels.array, run(long_echo, split["short"]).labels.array)
    assert long.settings["second_stages"][2]["second_stage_echo_times"] == {"from_ms": 15.0, "ran": True}
    assert any(note.startswith("SWI echo time 25 ms: the iron classifier for SWI echo times from 15 ms ran") for note in long.notes)

    missing = run(unknown, split["split"])
    assert np.array_equal(missing.labels.array, short.labels.array) and "swi_echo_time_ms" not in missing.settings
    assert any(note.startswith("SWI echo time not known: the iron classifier for SWI echo times below 15 ms or not known ran")
               for note in missing.notes)


def test_the_command_builds_it_and_refuses_wrong_input_and_a_long_echo_calibration_refuses_it(split, scoring_two_stage_model, slab_cohort, tmp_path, capsys):
    out = tmp_path / "cli.json"
    assert secondstage.main(["--model", str(split["short"]), "--long-echo", "15", "--long-echo-classifier", f"iron={scoring_two_stage_model}",
                             "--out", str(out)]) == 0
    assert [s.get("echo_times") for s in json.loads(out.read_text())["second_stage"]] == [None, {"below_ms": 15.0}, {"from_ms": 15.0}]
    scoring, short = str(scoring_two_stage_model), str(split["short"])
    for model, argv, message in (
            (short, ["--long-echo-classifier", f"iron={scoring}"], "goes with --long-echo"),
            (short, ["--long-echo", "15", "--long-echo-classifier", f"bleed={scoring}"], "not a class key"),
            (scoring, ["--long-echo", "15", "--long-echo-classifier", f"iron={short}"], "deciding iron (and nothing else)"),
            (short, ["--long-echo", "0.015", "--long-echo-classifier", f"iron={scoring}"], "--long-echo")):
        with pytest.raises(SystemExit):
            secondstage.main(["--model", model, *argv, "--out", str(tmp_path / "x.json")])
        assert message in capsys.readouterr().err
    with pytest.raises(InputError, match="at every echo time"):  # splitting twice
        per_echo_time_model(split["split"], "iron", scoring_two_stage_model, 20, tmp_path / "twice")
    with pytest.raises(InputError, match="runs only for some echo times"):
        secondstage.long_echo_model(split["split"], [slab_cohort / "sim-41-0000"], 15, ("iron",), tmp_path / "y")
    assert not (tmp_path / "x.json").exists()


def test_calibrate_chooses_the_minimums_of_the_classifiers_that_run_for_its_participants(split, slab_cohort, tmp_path, capsys):
    """On nominal participants (7.5 ms) calibrate chooses the minimums of the microbleed
    classifier and the short-echo iron one, and keeps the long-echo one's as they are."""
    assert main(["calibrate", "--model", str(split["split"]), "--data", str(slab_cohort), "--out", str(tmp_path / "z"), "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert "classifier 2 (for SWI echo times from 15 ms): no participant of these echo times" in captured.out + captured.err
    before, after = load_model(split["split"]).card.second_stages, load_model(tmp_path / "z").card.second_stages
    assert after[2].min_probability == before[2].min_probability and after[2].calibration == before[2].calibration
    for index in (0, 1):
        assert after[index].calibration != before[index].calibration and "sim-41-0002" in after[index].calibration["data"]
    assert [spec.echo_times for spec in after] == [spec.echo_times for spec in before]
