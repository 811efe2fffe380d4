"""Calibration of the minimum lesion probability (deepmir calibrate) with the bundled model on
simulated slab participants it never saw."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import torch

from DeepMIRLib.calibration import (
    CANDIDATE_PROBABILITIES,
    calibrate,
    choose_min_probability,
    predict_for_calibration,
    summarize,
    threshold_table,
)
from DeepMIRLib.cli import main
from DeepMIRLib.lesions import label_components, remove_unlikely_lesions
from DeepMIRLib.metrics import evaluate_participant
from DeepMIRLib.modelfile import load_model, read_card, save_model
from DeepMIRLib.training import find_training_cases
from DeepMIRLib.volumes import read_volume


@pytest.fixture(scope="module")
def default_predictions(slab_cohort):
    model = load_model("default")
    return model, list(predict_for_calibration(model, find_training_cases(slab_cohort), device="cpu"))


def test_remove_unlikely_lesions_drops_only_low_confidence_components(default_predictions):
    _, predictions = default_predictions
    labels, probabilities, _ = max(predictions, key=lambda p: label_components(p[0].array == 1)[1])
    components, count = label_components(labels.array == 1)
    peaks = np.array([probabilities[1][components == k].max() for k in range(1, count + 1)])
    threshold = float(np.median(peaks))
    kept = remove_unlikely_lesions(labels.array, probabilities, {1: threshold})
    assert label_components(kept == 1)[1] == int((peaks >= threshold).sum()) < count
    np.testing.assert_array_equal(kept == 2, labels.array == 2)  # the other class untouched
    for k in np.flatnonzero(peaks >= threshold) + 1:
        assert (kept[components == k] == 1).all()


def test_threshold_table_and_choice(default_predictions):
    model, predictions = default_predictions
    for lesion_class in model.card.lesion_classes:
        rows = threshold_table([{lesion_class.label: summarize(p, lesion_class.label)} for p in predictions], lesion_class.label)
        assert rows[0].min_probability == 0.0 and len(rows) == 1 + len(CANDIDATE_PROBABILITIES)
        # a higher threshold only ever removes predicted lesions: TP + FP never grows, FN never shrinks
        assert all(a.tp + a.fp >= b.tp + b.fp and a.fn <= b.fn for a, b in itertools.pairwise(rows))
        # the same counts as evaluating the filtered label maps one by one
        threshold = rows[5].min_probability
        totals = np.zeros(3, int)
        for labels, probabilities, reference in predictions:
            kept = labels.with_array(remove_unlikely_lesions(labels.array, probabilities, {lesion_class.label: threshold}))
            result = evaluate_participant(kept, reference, classes=(lesion_class.label,))[lesion_class.label]
            totals += (result.tp, result.fp, result.fn)
        assert totals.tolist() == [rows[5].tp, rows[5].fp, rows[5].fn]
        chosen = choose_min_probability(rows)
        assert max(r.f1 for r in rows) == next(r.f1 for r in rows if r.min_probability == chosen)


def test_calibration_without_the_maps_gives_the_same_tables(slab_cohort, default_predictions):
    """deepmir calibrate keeps each participant's components, peaks and centroids as it comes,
    not its maps (memory); the tables are those of the kept maps."""
    model, predictions = default_predictions
    cases = find_training_cases(slab_cohort)
    result = calibrate(model, cases, device="cpu")
    assert result["cases"] == [case.case_id for case in cases]
    for lesion_class in model.card.lesion_classes:
        from_maps = [{lesion_class.label: summarize(p, lesion_class.label)} for p in predictions]
        assert result["tables"][lesion_class.key] == [row.to_dict() for row in threshold_table(from_maps, lesion_class.label)]


def test_calibrate_command_writes_a_model_predict_follows(slab_cohort, tmp_path):
    out = tmp_path / "calibrated"
    assert main(["calibrate", "--data", str(slab_cohort), "--out", str(out), "--version", "0.1.0+cal", "--device", "cpu"]) == 0
    card = read_card(out.with_suffix(".json"))
    chosen = card.postprocessing["min_lesion_probability"]
    assert set(chosen) == {"cmb", "iron"} and card.version == "0.1.0+cal"
    assert card.training["calibration"]["cases"] == [c.case_id for c in find_training_cases(slab_cohort)]
    calibrated, default = load_model(out).network.state_dict(), load_model("default").network.state_dict()
    assert all(torch.equal(calibrated[k], default[k]) for k in default)  # same weights
    int8 = load_model("default").card.int8  # the same U-Net keeps its int8 file (onnxruntime-int8)
    assert card.int8 is not None and card.int8.sha256 == int8.sha256 and card.int8.weights_sha256 == card.weights_sha256
    assert load_model(out).int8_bytes() == load_model("default").int8_bytes()
    # each second-stage classifier: same network, its own minimum probabilities chosen on the same participants
    calibrated_model, default = load_model(out), load_model("default")
    assert len(calibrated_model.card.second_stages) == len(default.card.second_stages) == 3  # the bundled model: microbleeds; iron below 15 ms; iron from 15 ms
    references = [read_volume(c.labels).array for c in find_training_cases(slab_cohort)]
    for index, (stage, default_stage) in enumerate(zip(calibrated_model.card.second_stages, default.card.second_stages)):
        if not default_stage.applies_to(7.5):  # the iron classifier from 15 ms: no participant of its echo times, kept as it was
            assert dataclasses.replace(stage, weights_file=default_stage.weights_file) == default_stage
            continue
        unchanged = {"weights_file": default_stage.weights_file, "weights_sha256": default_stage.weights_sha256,
                     "min_probability": default_stage.min_probability, "calibration": default_stage.calibration}
        assert dataclasses.replace(stage, **unchanged) == default_stage
        kept_weights, default_weights = calibrated_model.second_stage_network(index).state_dict(), default.second_stage_network(index).state_dict()
        assert all(torch.equal(kept_weights[k], default_weights[k]) for k in default_weights)
        assert all(c.case_id in stage.calibration["data"] for c in find_training_cases(slab_cohort))
        # scored from the U-Net calibration's own detections, the same as scoring the cases afresh
        from DeepMIRLib.secondstage import calibrate_second_stage

        afresh = calibrate_second_stage(default, default.second_stage_network(index), default_stage, find_training_cases(slab_cohort),
                                        log=lambda line: None)
        assert afresh.calibration["tables"] == stage.calibration["tables"] and afresh.min_probability == stage.min_probability
        # a classifier's minimum is chosen only for the class it decides; the other keeps the card's
        decided = stage.decided_keys()
        assert len(decided) == 1 and set(stage.calibration["tables"]) == set(stage.calibration["figures"]["two_stages"]) == set(decided)
        assert all(stage.min_probability[key] == default_stage.min_probability[key] for key in ("cmb", "iron") if key not in decided)
        for key, value in (("cmb", 1), ("iron", 2)):
            if key not in decided:
                continue
            table = stage.calibration["tables"][key]
            best = max(row["f1"] for row in table)
            assert stage.min_probability[key] == next(row["min_probability"] for row in table if row["f1"] == best)
            assert {row["tp"] + row["fn"] for row in table} == {sum(label_components(r == value)[1] for r in references)}
    # predict with the U-Net alone applies the card's values unless told otherwise
    participant = slab_cohort / "sim-41-0000"
    one = ["--model", str(out), "--device", "cpu", "--stages", "1"]
    assert main(["predict", "--input", str(participant), "--out", str(tmp_path / "a"), *one]) == 0
    assert main(["predict", "--input", str(participant), "--out", str(tmp_path / "b"), *one, "--min-probability", "0"]) == 0
    kept = read_volume(tmp_path / "a" / "sim-41-0000" / "labels.nii.gz").array
    everything = read_volume(tmp_path / "b" / "sim-41-0000" / "labels.nii.gz").array
    assert ((kept == everything) | (kept == 0)).all()  # filtering only removes lesions
    probabilities = {1: read_volume(tmp_path / "b" / "sim-41-0000" / "prob_cmb.nii.gz").array,
                     2: read_volume(tmp_path / "b" / "sim-41-0000" / "prob_iron.nii.gz").array}
    expected = remove_unlikely_lesions(everything, probabilities, {1: chosen["cmb"], 2: chosen["iron"]})
    np.testing.assert_array_equal(kept, expected)


def test_calibrate_refuses_participants_the_model_was_trained_on(slab_cohort, tmp_path):
    card = load_model("default").card
    model_path = tmp_path / "seen"
    card.training = {**card.training, "training_cases": ["sim-41-0001"]}
    save_model(load_model("default").network, dataclasses.replace(card, second_stages=()), model_path)
    assert main(["calibrate", "--model", str(model_path), "--data", str(slab_cohort), "--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x.json").exists()
