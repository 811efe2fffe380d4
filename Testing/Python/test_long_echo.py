"""A second stage's minimum probabilities for long echo times (SecondStageSpec.long_echo): the
card's section, choosing them on a long-echo cohort (secondstage.long_echo_model and its
command), and detection applying them only where the SWI's echo time is known and long."""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil

import numpy as np
import pytest

from DeepMIRLib import secondstage
from DeepMIRLib.cli import main
from DeepMIRLib.errors import InputError
from DeepMIRLib.modelfile import load_model, model_paths, save_model, sha256_of
from DeepMIRLib.pipeline import detect, participant_from_folder
from DeepMIRLib.secondstagespec import SecondStageSpec
from DeepMIRLib.training import find_training_cases

SECTION = {"architecture": "cnn3d", "width": 4, "in_channels": 4, "patch": [9, 20, 20], "min_probability": {"cmb": 0.9, "iron": 0.9}}


def test_the_long_echo_minimum_replaces_the_standard_one_only_from_its_echo_time():
    spec = SecondStageSpec.from_dict({**SECTION, "long_echo": {"from_ms": 15, "min_probability": {"cmb": 0.6}}})
    assert spec.min_probability_for(None) == {"cmb": 0.9, "iron": 0.9}
    assert spec.min_probability_for(14.9) == {"cmb": 0.9, "iron": 0.9}
    assert spec.min_probability_for(15.0) == spec.min_probability_for(40.0) == {"cmb": 0.6, "iron": 0.9}
    assert SecondStageSpec.from_dict(spec.to_dict()) == spec
    assert "long_echo" not in SecondStageSpec.from_dict(SECTION).to_dict()  # cards without it read and write as before


@pytest.mark.parametrize("long_echo, message", [
    ({"from_ms": 0.02, "min_probability": {"cmb": 0.6}}, "from_ms"),  # seconds, not ms
    ({"from_ms": 15, "min_probability": {"vein": 0.6}}, "must give 'cmb', 'iron' or both"),
    ({"from_ms": 15, "min_probability": {"cmb": 1.6}}, "min_probability cmb"),
    ({"from_ms": 15}, "must be an object with 'from_ms' and 'min_probability'"),
    ({"from_ms": 15, "min_probability": {"cmb": 0.6}, "why": "x"}, "must be an object with 'from_ms' and 'min_probability'"),
])
def test_a_wrong_long_echo_section_is_refused_by_name(long_echo, message):
    with pytest.raises(InputError, match=message):
        SecondStageSpec.from_dict({**SECTION, "long_echo": long_echo}, "card.json")


def test_a_long_echo_minimum_for_a_class_the_classifier_does_not_decide_is_refused():
    with pytest.raises(InputError, match="decides only"):
        SecondStageSpec.from_dict({**SECTION, "decides": ["cmb"], "long_echo": {"from_ms": 15, "min_probability": {"iron": 0.6}}})


def with_long_echo_sidecar(participant, folder, echo_time_s):
    """A copy of a simulated participant whose SWI sidecar gives another echo time."""
    shutil.copytree(participant, folder)
    (folder / "swi.json").write_text(json.dumps({"EchoTime": echo_time_s}), encoding="utf-8")
    return folder


def test_detection_applies_the_long_echo_minimum_only_where_the_echo_time_is_known_and_long(scoring_two_stage_model, slab_cohort, tmp_path):
    """The scoring model's classifier removes some candidates at its 0.4; with a long-echo
    minimum of 0 it keeps every one for an SWI of 25 ms, and nothing changes for 7.5 ms or an
    unknown echo time (which the detection's notes say)."""
    base = load_model(scoring_two_stage_model)
    card = copy.deepcopy(base.card)
    card.second_stage = dataclasses.replace(card.second_stage, long_echo={"from_ms": 20.0, "min_probability": {"cmb": 0.0, "iron": 0.0}})
    long_echo = save_model(base.network, card, tmp_path / "long", second_stage=base.second_stage)

    nominal = slab_cohort / "sim-41-0000"
    standard = detect(participant_from_folder(nominal), scoring_two_stage_model, device="cpu", runtime="torch")
    short = detect(participant_from_folder(nominal), long_echo, device="cpu", runtime="torch")
    assert np.array_equal(short.labels.array, standard.labels.array)
    assert short.settings["second_stage_min_probability"] == {"cmb": 0.4, "iron": 0.4} and short.settings["swi_echo_time_ms"] == 7.5
    assert short.settings["second_stage_long_echo"] == {"from_ms": 20.0, "min_probability": {"cmb": 0.0, "iron": 0.0}}
    assert not any("echo time" in note for note in short.notes)

    long_participant = with_long_echo_sidecar(nominal, tmp_path / "long-echo", 0.025)
    long = detect(participant_from_folder(long_participant), long_echo, device="cpu", runtime="torch")
    assert long.settings["second_stage_min_probability"] == {"cmb": 0.0, "iron": 0.0} and long.settings["swi_echo_time_ms"] == 25.0
    assert len(long.lesions) > len(standard.lesions)
    assert np.all(long.labels.array[standard.labels.array > 0] > 0)  # nothing the standard minimum keeps is lost
    assert any("SWI echo time 25 ms" in note and "applied" in note for note in long.notes)

    unknown = tmp_path / "unknown"
    shutil.copytree(nominal, unknown)
    (unknown / "swi.json").unlink()
    without = detect(participant_from_folder(unknown), long_echo, device="cpu", runtime="torch")
    assert np.array_equal(without.labels.array, standard.labels.array) and "swi_echo_time_ms" not in without.settings
    assert any("SWI echo time not known" in note and "not applied" in note for note in without.notes)
    assert detect(participant_from_folder(unknown), long_echo, device="cpu", runtime="torch", stages=1).notes == \
        detect(participant_from_folder(unknown), scoring_two_stage_model, device="cpu", runtime="torch", stages=1).notes


@pytest.fixture(scope="module")
def long_echo_default(slab_cohort, tmp_path_factory):
    """The default model with a long-echo microbleed minimum chosen on two slab participants
    whose SWI sidecars say 25 ms (the images are the nominal protocol's: this checks the
    machinery, not the choice)."""
    folder = tmp_path_factory.mktemp("long-echo")
    cases = [with_long_echo_sidecar(slab_cohort / name, folder / "cal" / name, 0.025) for name in ("sim-41-0000", "sim-41-0001")]
    lines = []
    path = secondstage.long_echo_model("default", cases, 20.0, ("cmb",), folder / "model" / "m.json", "9.9.9", log=lines.append)
    return path, lines


def test_the_long_echo_minimum_is_chosen_by_the_calibration_rule_and_nothing_else_changes(long_echo_default):
    path, lines = long_echo_default
    default, chosen = load_model("default"), load_model(path)
    assert chosen.card.version == "9.9.9" and any("for echo times from 20 ms" in line for line in lines)
    assert sha256_of(model_paths(path)[1]) == default.card.weights_sha256
    for before, after in zip(default.card.second_stages, chosen.card.second_stages):
        assert after.weights_sha256 == before.weights_sha256 and after.min_probability == before.min_probability
        assert dataclasses.replace(after, long_echo=None, weights_file="") == dataclasses.replace(before, long_echo=None, weights_file="")
    microbleeds = next(spec for spec in chosen.card.second_stages if spec.decided_keys() == ("cmb",))
    table = microbleeds.long_echo["calibration"]["tables"]["cmb"]
    best = max(row["f1"] for row in table)
    assert microbleeds.long_echo["min_probability"] == {"cmb": next(row["min_probability"] for row in table if row["f1"] == best)}
    assert microbleeds.long_echo["from_ms"] == 20.0 and "sim-41-0001" in microbleeds.long_echo["calibration"]["data"]
    iron = [next(spec for spec in model.card.second_stages if spec.decided_keys() == ("iron",)) for model in (default, chosen)]
    assert iron[1].long_echo == iron[0].long_echo  # a classifier not asked for keeps its own


def test_a_long_echo_calibration_refuses_short_echoes_and_unknown_classes_before_any_work(slab_cohort, tmp_path):
    lines = []
    with pytest.raises(InputError, match="echo time 7.5 ms is shorter than 20 ms"):
        secondstage.long_echo_model("default", find_training_cases(slab_cohort), 20.0, ("cmb",), tmp_path / "m.json", log=lines.append)
    with pytest.raises(InputError, match="--long-echo-classes"):
        secondstage.long_echo_model("default", find_training_cases(slab_cohort), 5.0, ("vein",), tmp_path / "m.json", log=lines.append)
    with pytest.raises(InputError, match="--long-echo"):
        secondstage.long_echo_model("default", find_training_cases(slab_cohort), 0.02, ("cmb",), tmp_path / "m.json", log=lines.append)
    assert lines == [] and not (tmp_path / "m.json").exists()


def test_the_long_echo_commands(long_echo_default, slab_cohort, tmp_path, capsys):
    path, _ = long_echo_default
    assert main(["info", str(path)]) == 0
    assert "for SWI echo times from 20 ms" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        secondstage.main(["--long-echo", "20", "--long-echo-classes", "cmb", "--calibrate", str(slab_cohort), "--out", str(tmp_path / "m.json")])
    assert "echo time 7.5 ms is shorter than 20 ms" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # the default's iron classifiers each run for some echo times only
        secondstage.main(["--long-echo", "20", "--long-echo-classes", "iron", "--calibrate", str(slab_cohort), "--out", str(tmp_path / "m.json")])
    assert "runs only for some echo times" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        secondstage.main(["--long-echo", "20", "--train", str(slab_cohort), "--calibrate", str(slab_cohort), "--out", str(tmp_path / "m.json")])
    assert "trains nothing" in capsys.readouterr().err


def test_calibrating_the_standard_minimum_refuses_long_echoes_before_any_work(long_echo_default, tmp_path, capsys):
    """`deepmir calibrate` chooses the minimum applied below the long-echo rule's echo time: a
    participant at or above it would be decided at the other minimum, so it is refused."""
    path, _ = long_echo_default
    long_echo_cohort = path.parent.parent / "cal"  # the fixture's participants, sidecars of 25 ms
    assert main(["calibrate", "--model", str(path), "--data", str(long_echo_cohort), "--out", str(tmp_path / "c.json")]) == 2
    error = capsys.readouterr().err
    assert "SWI echo time 25 ms" in error and "--long-echo" in error and not (tmp_path / "c.json").exists()
