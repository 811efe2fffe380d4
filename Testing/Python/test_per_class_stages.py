"""A second stage with one classifier per lesion class (ModelCard.second_stages,
secondstage.per_class_model): its card and weights files, and detection that takes each class
from the model whose classifier decides it (pipeline.combine_stages), on PyTorch, ONNX
Runtime and OpenVINO."""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import scoring_classifier

from DeepMIRLib import secondstage
from DeepMIRLib.cli import main
from DeepMIRLib.errors import InputError
from DeepMIRLib.modelfile import ModelCard, load_model, save_model
from DeepMIRLib.pipeline import detect, participant_from_folder
from DeepMIRLib.secondstage import per_class_model

CMB, IRON = 1, 2


@pytest.fixture(scope="module")
def models(scoring_two_stage_model, tmp_path_factory):
    """Two models sharing the default U-Net, each with a classifier of its own (the second one
    also proposes SWI minima), and the per-class model that takes microbleeds from the first
    and iron deposits from the second."""
    folder = tmp_path_factory.mktemp("per-class")
    base = load_model(scoring_two_stage_model)
    strict = copy.deepcopy(base.card)  # fewer microbleeds, so that the second's iron deposits show
    strict.second_stage = dataclasses.replace(strict.second_stage, min_probability={"cmb": 0.8, "iron": 0.4})
    first = save_model(base.network, strict, folder / "first", second_stage=base.second_stage)
    card = copy.deepcopy(base.card)
    card.second_stage = dataclasses.replace(card.second_stage, extrema={"swi_below": -3.0, "qsm_above": 1.5},
                                            min_probability={"cmb": 0.3, "iron": 0.3})
    other = save_model(base.network, card, folder / "other", second_stage=scoring_classifier(len(card.inputs) + 1, seed=1))
    combined = per_class_model({"cmb": first, "iron": other}, folder / "combined", version="9.9")
    return {"cmb": first, "iron": other, "combined": combined}


def test_the_card_lists_each_classifier_with_its_weights_file(models, capsys):
    data = json.loads(models["combined"].read_text())
    sections = data["second_stage"]
    assert isinstance(sections, list) and [s["decides"] for s in sections] == [["cmb"], ["iron"]]
    assert [s["weights_file"] for s in sections] == ["combined.second.safetensors", "combined.second2.safetensors"]
    assert data["version"] == "9.9" and "extrema" not in sections[0] and sections[1]["extrema"]
    assert "other.json" in sections[1]["training"]["taken_from"]
    assert data["weights_sha256"] == load_model(models["cmb"]).card.weights_sha256  # the U-Net's file, copied

    loaded = load_model(models["combined"])
    assert loaded.has_second_stage and loaded.card.second_stage_decides() == ("cmb", "iron")
    assert loaded._second_stages == [None, None]  # loading builds no network
    for index, source in enumerate((models["cmb"], models["iron"])):
        assert loaded.second_stage_weights_key(index) == f"file:{sections[index]['weights_sha256']}"
        expected = load_model(source).second_stage.state_dict()
        assert all(torch.equal(tensor, expected[name]) for name, tensor in loaded.second_stage_network(index).state_dict().items())
    assert ModelCard.from_dict(loaded.card.to_dict()).second_stages == loaded.card.second_stages

    assert main(["info", str(models["combined"]), "--check"]) == 0
    assert capsys.readouterr().out.count("second stage:") == 2


@pytest.mark.parametrize("runtime", ["torch", "onnxruntime", "openvino-f32"])
def test_detection_takes_each_class_from_the_classifier_that_decides_it(models, slab_cohort, runtime):
    """The per-class model's labels are the microbleeds of the first model's detection, and
    the iron deposits of the second's where the first put no microbleed (what
    docs/experiments/2026-11-26-per-class-classifiers/compose.py computes from two runs)."""
    if runtime == "onnxruntime":
        pytest.importorskip("onnxruntime", reason="the fast extra (onnxruntime, onnx) is not installed")
    if runtime == "openvino-f32":
        pytest.importorskip("openvino", reason="the openvino extra (openvino, onnx) is not installed")
    participant = participant_from_folder(slab_cohort / "sim-41-0000")
    runs = {name: detect(participant, models[name], device="cpu", runtime=runtime) for name in ("cmb", "iron", "combined")}
    microbleeds, deposits = runs["cmb"].labels.array, runs["iron"].labels.array
    expected = np.where(microbleeds == CMB, CMB, np.where(deposits == IRON, IRON, 0))
    assert (expected == CMB).any() and (expected == IRON).any()
    assert ((deposits == IRON) & (microbleeds == CMB)).any()  # voxels both claim: the first given wins
    assert not np.array_equal(microbleeds, deposits)  # the two classifiers decide differently
    assert np.array_equal(runs["combined"].labels.array, expected)
    # and each lesion carries the probability of the classifier that decided it
    carried = {name: {(lesion.label, lesion.voxels, lesion.centroid_index): lesion.second_stage_prob for lesion in runs[name].lesions}
               for name in ("cmb", "iron")}
    matched = 0
    for lesion in runs["combined"].lesions:
        source = carried["cmb" if lesion.label == CMB else "iron"]
        place = (lesion.label, lesion.voxels, lesion.centroid_index)
        assert place in source or lesion.label == IRON  # a deposit may lose voxels to a microbleed
        if place in source:
            assert lesion.second_stage_prob == pytest.approx(source[place])
            matched += 1
    assert matched and not np.isnan([lesion.second_stage_prob for lesion in runs["combined"].lesions]).any()
    settings = runs["combined"].settings
    assert settings["stages"] == 2 and [s["second_stage_decides"] for s in settings["second_stages"]] == [["cmb"], ["iron"]]
    assert settings["min_probability"] == {"cmb": 0.0, "iron": 0.0}  # the U-Net runs permissive for both


def test_a_later_classifier_adds_lesions_of_a_class_an_earlier_one_decides_too(models, slab_cohort, tmp_path, capsys):
    """With the first classifier deciding both classes and the second iron too, the labels are
    the first's lesions, and the second's deposits where the first put no lesion; calibrate
    refuses the card, since it would choose each classifier's iron minimum on its own."""
    for path in models["combined"].parent.glob("combined.*"):
        shutil.copyfile(path, tmp_path / path.name)
    card_path = tmp_path / "combined.json"
    data = json.loads(card_path.read_text())
    data["second_stage"][0]["decides"] = ["cmb", "iron"]
    card_path.write_text(json.dumps(data))
    assert load_model(card_path).card.second_stage_decides() == ("cmb", "iron", "iron")
    participant = participant_from_folder(slab_cohort / "sim-41-0000")
    first, second, both = (detect(participant, model, device="cpu", runtime="torch").labels.array
                           for model in (models["cmb"], models["iron"], card_path))
    expected = np.where(first > 0, first, np.where(second == IRON, IRON, 0))
    assert ((second == IRON) & (first == 0)).any() and (first == IRON).any()  # each adds deposits of its own
    np.testing.assert_array_equal(both, expected)
    assert main(["calibrate", "--model", str(card_path), "--data", str(slab_cohort), "--out", str(tmp_path / "x")]) == 2
    assert "a class two classifiers decide" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()


def test_cards_that_list_classifiers_badly_are_refused(models):
    data = json.loads(models["combined"].read_text())
    first, second = data["second_stage"]
    for sections, match in (([], "lists 0"), ([first, second, second, second, second], "lists 5"),
                            ([first, {k: v for k, v in second.items() if k != "decides"}], "must give `decides`")):
        with pytest.raises(InputError, match=match):
            ModelCard.from_dict({**data, "second_stage": sections})
    with pytest.raises(InputError, match="not dict or list"):
        ModelCard.from_dict({**data, "second_stage": "cmb"})


def test_a_changed_second_classifier_file_is_refused(models, tmp_path):
    folder = tmp_path / "copy"
    folder.mkdir()
    for path in models["combined"].parent.glob("combined.*"):
        (folder / path.name).write_bytes(path.read_bytes())
    weights = folder / "combined.second2.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(InputError, match="second-stage weights do not match"):
        load_model(folder / "combined.json")


def test_per_class_model_needs_one_unet_and_one_classifier_each(models, unet_only_model, tmp_path):
    with pytest.raises(InputError, match="--per-class takes models with one"):
        per_class_model({"cmb": models["combined"], "iron": models["iron"]}, tmp_path / "x")
    with pytest.raises(InputError, match="--per-class takes models with one"):
        per_class_model({"cmb": unet_only_model, "iron": models["iron"]}, tmp_path / "x")
    with pytest.raises(InputError, match="KEY=MODEL"):
        per_class_model({"bleed": models["cmb"]}, tmp_path / "x")
    loaded = load_model(models["iron"])
    other_unet = copy.deepcopy(loaded.network)
    with torch.no_grad():
        next(other_unet.parameters()).add_(1.0)
    card = copy.deepcopy(loaded.card)
    other = save_model(other_unet, card, tmp_path / "other", second_stage=loaded.second_stage)
    with pytest.raises(InputError, match="another U-Net"):
        per_class_model({"cmb": models["cmb"], "iron": other}, tmp_path / "x")
    assert not (tmp_path / "x.json").exists()


def test_fine_tuning_refuses_a_per_class_model_and_the_command_line_builds_one(models, tmp_path):
    with pytest.raises(InputError, match="fine-tuning starts from a model with one"):
        secondstage.build_two_stage_model(models["combined"], [], [], tmp_path / "f", fine_tune=True)
    assert secondstage.main(["--per-class", "cmb=" + str(models["cmb"]), "iron=" + str(models["iron"]),
                             "--base", str(models["iron"]), "--out", str(tmp_path / "cli.json")]) == 0
    card = json.loads((tmp_path / "cli.json").read_text())
    assert card["second_stage"][1]["decides"] == ["iron"]
    assert card["weights_sha256"] == load_model(models["iron"]).card.weights_sha256  # --base's U-Net file
    assert (tmp_path / "cli.safetensors").read_bytes() == models["iron"].with_suffix(".safetensors").read_bytes()


def test_a_kill_at_any_write_step_leaves_the_old_model_the_new_one_or_a_clear_error(models, tmp_path):
    """per_class_model over an existing model: killed (SIGKILL) before or after any file
    operation, the folder loads as the old model or the new one, or is refused because a file
    no longer matches its card (never a silent mix); running it again gives the new model."""
    from test_bad_input import _run_killed

    # built in this process: the forked child only hashes tensors and copies files
    deciders = {key: load_model(models[key]) for key in ("cmb", "iron")}
    swapped = {"cmb": deciders["iron"], "iron": deciders["cmb"]}
    for model in deciders.values():
        model.network, model.second_stage  # noqa: B018 - build the networks before the fork
    template = tmp_path / "template"
    def card_of(path):  # the card without the time it was written
        return {k: v for k, v in json.loads(Path(path).read_text()).items() if k != "created"}

    old = card_of(per_class_model(swapped, template / "m.json", version="1.0"))

    def build(folder):
        return lambda: per_class_model(deciders, folder / "m.json", version="2.0")

    counting = tmp_path / "counting"
    shutil.copytree(template, counting)
    steps = _run_killed(build(counting), step=0, when="never")
    assert steps >= 4, steps  # the U-Net, the int8 file where there is one, two classifiers, the card
    new = card_of(counting / "m.json")
    outcomes = set()
    for step in range(1, steps + 1):
        for when in ("before", "after"):
            folder = tmp_path / f"killed-{step}-{when}"
            shutil.copytree(template, folder)
            assert _run_killed(build(folder), step, when) == -1
            try:
                load_model(folder / "m.json")  # every file matches the card
                card = card_of(folder / "m.json")
                assert card in (old, new), f"killed {when} operation {step}: a card that is neither"
                outcomes.add(card["version"])
            except InputError as err:
                assert "do not match" in str(err), str(err)
                outcomes.add("refused")
            build(folder)()
            assert load_model(folder / "m.json").card.version == "2.0"
            shutil.rmtree(folder)
    assert {"1.0", "2.0"} <= outcomes, outcomes


def test_a_classifier_s_minimum_for_the_class_it_does_not_decide_changes_nothing(models, slab_cohort, tmp_path):
    """Why calibration leaves that minimum alone (secondstage.choose_min_probability): each
    classifier's lesions of the other class are dropped (combine_stages), and its minimum for
    the other class cannot turn a candidate into one of its own class (candidates.decide)."""
    for path in models["combined"].parent.glob("combined.*"):
        shutil.copyfile(path, tmp_path / path.name)
    card_path = tmp_path / "combined.json"
    data = json.loads(card_path.read_text())
    participant = participant_from_folder(slab_cohort / "sim-41-0000")
    labels = []
    for undecided in (0.0, 0.999):
        for section in data["second_stage"]:
            other = "iron" if section["decides"] == ["cmb"] else "cmb"
            section["min_probability"][other] = undecided
        card_path.write_text(json.dumps(data))
        labels.append(detect(participant, card_path, device="cpu", runtime="torch").labels.array)
    assert (labels[0] == CMB).any() and (labels[0] == IRON).any()
    np.testing.assert_array_equal(labels[0], labels[1])


def _components(mask: np.ndarray) -> list[np.ndarray]:
    from DeepMIRLib.lesions import label_components

    labelled, count = label_components(mask)
    return [labelled == k for k in range(1, count + 1)]


def _card_changed(source: Path, folder: Path, change) -> Path:
    """A copy of the model `source`'s files in `folder` whose card `change` (a function of the
    card's JSON) has changed."""
    folder.mkdir()
    for path in source.parent.glob(source.stem + ".*"):
        shutil.copyfile(path, folder / path.name)
    data = json.loads((folder / source.name).read_text())
    change(data)
    (folder / source.name).write_text(json.dumps(data))
    return folder / source.name


def test_a_second_opinion_adds_the_deposits_both_classifiers_call_iron(two_classifier_model, slab_cohort, tmp_path, capsys):
    """The default's classifiers (microbleed classifier first, iron classifier second) with the iron
    classifier's second_opinion {"from": 0, "min_probability": {"iron": 0.5}}: its labels are the
    default's, plus, as iron, each candidate that the iron classifier takes for iron at 0.5 to
    below its minimum and on which the microbleed classifier keeps iron. sim-41-0001 has such a
    candidate under the default 0.5.6 (sim-41-0000 had one under 0.5.5, none under 0.5.6)."""
    default = two_classifier_model
    path = secondstage.second_opinion_model(default, {"iron": 0.5}, tmp_path / "opinion.json", version="9.9.2")
    card = load_model(path).card
    assert card.second_stages[1].second_opinion == {"from": 0, "min_probability": {"iron": 0.5}} and card.version == "9.9.2"
    assert card.second_stages[0].second_opinion is None and ModelCard.from_dict(card.to_dict()).second_stages == card.second_stages
    iron_from_half = _card_changed(default, tmp_path / "half", lambda data: data["second_stage"][1]["min_probability"].update(iron=0.5))
    both_decide_iron = _card_changed(default, tmp_path / "both", lambda data: data["second_stage"][0].update(decides=["cmb", "iron"]))
    participant = participant_from_folder(slab_cohort / "sim-41-0001")
    iron_minimum = load_model(default).card.second_stages[1].min_probability["iron"]
    default, opinion, half, both = (detect(participant, model, device="cpu", runtime="torch")
                                    for model in (default, path, iron_from_half, both_decide_iron))
    before, after = default.labels.array, opinion.labels.array
    assert np.array_equal(after[before > 0], before[before > 0])  # nothing the default keeps changes
    added = (after == IRON) & (before == 0)
    assert added.any()
    for mask in _components(added):
        centroid = np.argwhere(mask).mean(axis=0)[::-1]
        lesion, = [lesion for lesion in half.lesions if lesion.label == IRON and np.allclose(lesion.centroid_index, centroid, atol=1e-3)]
        assert 0.5 <= lesion.second_stage_prob < iron_minimum
        kept, = [lesion for lesion in opinion.lesions if np.allclose(lesion.centroid_index, centroid, atol=1e-3)]
        assert kept.second_stage_prob == pytest.approx(lesion.second_stage_prob)
        assert (both.labels.array[mask] == IRON).any()  # the microbleed classifier keeps iron on it
    assert main(["info", str(path)]) == 0
    assert "iron from 0.5 where classifier 0 keeps the same class" in capsys.readouterr().out


def test_second_opinions_are_checked(models, slab_cohort, tmp_path, capsys):
    data = json.loads(models["combined"].read_text())
    for opinion, match in (({"from": 1, "min_probability": {"iron": 0.1}}, "is not another"),
                           ({"from": 2, "min_probability": {"iron": 0.1}}, "is not another"),
                           ({"from": 0, "min_probability": {"iron": 0.5}}, "below its own minimum"),
                           ({"from": 0, "min_probability": {"cmb": 0.1}}, "a class this classifier decides"),
                           ({"from": 0}, "with 'from' and 'min_probability'")):
        sections = copy.deepcopy(data["second_stage"])
        sections[1]["second_opinion"] = opinion
        with pytest.raises(InputError, match=match):
            ModelCard.from_dict({**data, "second_stage": sections})
    with pytest.raises(InputError, match="needs two second-stage classifiers"):
        secondstage.second_opinion_model(models["cmb"], {"iron": 0.1}, tmp_path / "x.json")
    assert secondstage.main(["--model", str(models["combined"]), "--second-opinion", "iron=0.1", "--out", str(tmp_path / "cli.json")]) == 0
    assert json.loads((tmp_path / "cli.json").read_text())["second_stage"][1]["second_opinion"]["min_probability"] == {"iron": 0.1}
    with pytest.raises(SystemExit):
        secondstage.main(["--model", str(models["combined"]), "--second-opinion", "bleed=0.1", "--out", str(tmp_path / "y.json")])
    assert main(["calibrate", "--model", str(tmp_path / "cli.json"), "--data", str(slab_cohort), "--out", str(tmp_path / "z")]) == 2
    assert "second opinion" in capsys.readouterr().err


def test_a_second_opinion_below_an_echo_time_applies_only_to_shorter_or_unknown_ones(two_classifier_model, slab_cohort, tmp_path):
    """With `below_ms` 15 the opinion decides the nominal SWI (7.5 ms) and one of unknown echo
    time as without it, and one of 25 ms as the default does; the settings and notes say which."""
    from test_long_echo import with_long_echo_sidecar

    everywhere = secondstage.second_opinion_model(two_classifier_model, {"iron": 0.5}, tmp_path / "everywhere.json")
    below = secondstage.second_opinion_model(two_classifier_model, {"iron": 0.5}, tmp_path / "below.json", below_ms=15)
    assert load_model(below).card.second_stages[1].second_opinion == {"from": 0, "min_probability": {"iron": 0.5}, "below_ms": 15.0}
    nominal = slab_cohort / "sim-41-0001"  # where the opinion adds a deposit (the test above)
    unknown = tmp_path / "unknown"
    shutil.copytree(nominal, unknown)
    (unknown / "swi.json").unlink()
    long_echo = with_long_echo_sidecar(nominal, tmp_path / "long-echo", 0.025)

    def labels(folder, model):
        result = detect(participant_from_folder(folder), model, device="cpu", runtime="torch")
        return result, result.labels.array

    short, short_labels = labels(nominal, below)
    assert np.array_equal(short_labels, labels(nominal, everywhere)[1])
    assert not np.array_equal(short_labels, labels(nominal, two_classifier_model)[1])  # the opinion adds deposits here
    assert short.settings["second_stages"][1]["second_stage_second_opinion"]["applied"]
    assert not any(note.startswith("SWI echo time") for note in short.notes)
    long, long_labels = labels(long_echo, below)
    assert np.array_equal(long_labels, labels(long_echo, two_classifier_model)[1])
    assert not long.settings["second_stages"][1]["second_stage_second_opinion"]["applied"]
    assert any(note.startswith("SWI echo time 25 ms: the second opinion") and "not applied" in note for note in long.notes)
    missing, missing_labels = labels(unknown, below)
    assert np.array_equal(missing_labels, short_labels)
    assert any(note.startswith("SWI echo time not known: the second opinion") for note in missing.notes)
    with pytest.raises(InputError, match="below_ms"):
        secondstage.second_opinion_model(two_classifier_model, {"iron": 0.5}, tmp_path / "x.json", below_ms=0.5)
