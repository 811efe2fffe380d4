"""Training on simulated slab participants: data discovery, augmentation, a tiny run that
predict can use, exact resume, and data-parallel training under torchrun (gloo, 2 processes)."""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from tqdm import tqdm

from DeepMIRLib.cli import epoch_progress, main
from DeepMIRLib.demo import run_demo
from DeepMIRLib.errors import InputError
from DeepMIRLib.modelfile import load_model
from DeepMIRLib.simulation.phantom import Protocol
from DeepMIRLib.training import Trainer, TrainingConfig, augment, epoch_samples, find_training_cases, prepare_case, split_cases, train_model


def test_cases_from_simulator_and_datastore_layouts(slab_cohort, tmp_path):
    cases = find_training_cases(slab_cohort)
    assert [c.case_id for c in cases] == ["sim-41-0000", "sim-41-0001", "sim-41-0002"]
    store = tmp_path / "store"
    for case in cases:
        (store / "images" / case.case_id).mkdir(parents=True)
        for name in ("swi", "qsm", "t2"):
            shutil.copy(slab_cohort / case.case_id / f"{name}.nii.gz", store / "images" / case.case_id)
        (store / "labels" / "final").mkdir(parents=True, exist_ok=True)
        shutil.copy(slab_cohort / case.case_id / "labels.nii.gz", store / "labels" / "final" / f"{case.case_id}.nii.gz")
    from_store = find_training_cases(store)
    assert [c.case_id for c in from_store] == [c.case_id for c in cases]
    assert from_store[0].labels.parent.name == "final"


def test_prepared_case_and_sampling(slab_cohort):
    case = prepare_case(find_training_cases(slab_cohort)[0], ["swi", "qsm"], "multiclass")
    assert case.stack.shape[0] == 2 and case.stack.shape[1:] == case.labels.shape
    assert set(np.unique(case.labels)) <= {0, 1, 2} and case.labels.any()
    samples = epoch_samples([case], np.random.default_rng(0), copies=3)
    lesion = [z for _, z, _ in samples if case.labels[z].any()]
    assert len(lesion) == 3 * len(case.lesion_slices)
    assert len(samples) == 2 * len(lesion)  # as many lesion-free slices as lesion slices
    train, validation = split_cases([f"c{i}" for i in range(8)], seed=0)
    assert len(validation) == 2 and not set(train) & set(validation)



def test_mimic_fraction_draws_hard_negatives_around_each_kind_of_mimic(slab_cohort):
    cases = [prepare_case(c, ["swi"], "multiclass") for c in find_training_cases(slab_cohort)]
    assert all(c.mimics is not None and not (c.mimics[c.labels > 0]).any() for c in cases)
    random_only = epoch_samples(cases, np.random.default_rng(0), copies=2)
    assert not any(s.mimic for s in random_only)
    samples = epoch_samples(cases, np.random.default_rng(0), copies=2, mimic_fraction=0.5)
    n_lesion = sum(1 for s in samples if cases[s.case].labels[s.z].any())
    on_mimic = [s for s in samples if s.mimic]
    assert len(samples) == 2 * n_lesion and len(on_mimic) == round(0.5 * n_lesion)
    kinds_in_cohort = {k for c in cases for k in (1, 2, 3) if len(c.mimic_slices(k))}
    assert {s.mimic for s in on_mimic} == kinds_in_cohort and len(kinds_in_cohort) >= 2  # every kind present is drawn
    assert all((cases[s.case].mimics[s.z] == s.mimic).any() and not cases[s.case].labels[s.z].any() for s in on_mimic)

def test_augmentation_keeps_image_and_labels_together():
    rng = np.random.default_rng(3)
    labels = np.zeros((96, 80), np.uint8)
    labels[40:44, 30:33] = 1
    labels[60:62, 50:56] = 2
    image = np.stack([labels.astype(np.float32), np.ones_like(labels, np.float32)])
    for _ in range(20):
        out_image, out_labels = augment(image, labels, rng, crop=64)
        assert out_image.shape == (2, 64, 64) and out_labels.shape == (64, 64)
        assert set(np.unique(out_labels)) <= {0, 1, 2}
        # the label is where the (linearly interpolated) image of the label is high
        if (out_labels > 0).any():
            assert out_image[0][out_labels > 0].mean() > 0.5



def test_lesion_free_crops_land_anywhere_in_the_brain():
    """A lesion-free crop is centred on a random brain voxel, not the slice centre: here the
    only brain is a corner far from the centre, which a centred crop (+-45 px) never reaches."""
    brain = np.zeros((256, 192), bool)
    brain[5:30, 5:30] = True
    image = np.stack([brain.astype(np.float32)])
    labels = np.zeros(brain.shape, np.uint8)
    rng = np.random.default_rng(4)
    with_brain = [augment(image, labels, rng, crop=64, anchors=brain)[0][0].any() for _ in range(40)]
    centred = [augment(image, labels, rng, crop=64)[0][0].any() for _ in range(40)]
    assert np.mean(with_brain) > 0.5 and not any(centred)  # the +-45 px shift can still move a crop off

def _config(**changes):
    values = {"inputs": ("swi", "qsm", "t2"), "task": "multiclass", "base_width": 4, "epochs": 2, "batch_size": 8, "crop": 64, "copies": 1, "seed": 5, "device": "cpu"}
    values.update(changes)
    return TrainingConfig(**values)


def test_tiny_training_run_makes_a_model_predict_can_use(slab_cohort, tmp_path):
    card_path = train_model(find_training_cases(slab_cohort), _config(), tmp_path / "tiny", "tiny", "0.0.1", "3 simulated slab participants", log=lambda *_: None)
    model = load_model(card_path)
    training = model.card.training
    assert len(training["history"]) == 2 and training["validation_cases"] and 1 <= training["best_epoch"] <= 2
    assert model.card.task == "multiclass" and model.card.inputs == ["swi", "qsm", "t2"]
    out = tmp_path / "prediction"
    assert main(["predict", "--model", str(card_path), "--input", str(slab_cohort), "--out", str(out)]) == 0
    assert (out / "sim-41-0000" / "labels.nii.gz").exists() and (out / "cohort.tsv").exists()
    assert main(["evaluate", "--prediction", str(out), "--reference", str(slab_cohort), "--out", str(tmp_path / "evaluation")]) == 0
    lines = []
    assert run_demo(tmp_path / "demo", 7, str(card_path), "cpu", log=lines.append, protocol=Protocol(slab_slices=16)) == 0
    assert (tmp_path / "demo" / "qc.png").stat().st_size > 10_000
    assert (tmp_path / "demo" / "prediction" / "lesions.tsv").exists()
    assert any(line.startswith("Cerebral microbleed:") for line in lines) and "simulated data" in lines[-1]
    # the true counts are the evaluation's; where they differ from what the simulator placed, the line says why
    placed = re.search(r"(\d+) microbleeds, (\d+) iron deposits", next(line for line in lines if line.startswith("simulated participant")))
    for name, count in (("Cerebral microbleed:", placed[1]), ("Iron deposit:", placed[2])):
        line = next(line for line in lines if line.startswith(name))
        assert line.split(":")[1].split()[0] == count or f"the simulator placed {count}, some touching" in line


def test_training_progress_bar_starts_again_at_every_epoch(slab_cohort, tmp_path):
    """The train command's bar shows each epoch from zero with its own clock: its rate and time
    left must not count case preparation, validation or earlier epochs."""
    bar = tqdm(file=io.StringIO(), unit="slice")
    created = bar.start_t
    draw, calls = epoch_progress(bar), []

    def progress(done, total, loss):
        draw(done, total, loss)
        calls.append((done, total, bar.n, bar.total, bar.start_t))

    train_model(find_training_cases(slab_cohort), _config(epochs=2), tmp_path / "m", "m", "0", "test", progress=progress, log=lambda *_: None)
    assert calls and all(n == done and shown == total for done, total, n, shown, _ in calls)
    starts = [i for i, call in enumerate(calls) if i == 0 or call[0] <= calls[i - 1][0]]
    assert len(starts) == 2, "one bar start per epoch"
    clocks = [created] + [calls[i][4] for i in starts]
    assert all(later > earlier for earlier, later in itertools.pairwise(clocks)), "the clock starts again at every epoch"
    assert all(calls[i][4] == calls[start][4] for start, end in zip(starts, starts[1:] + [len(calls)]) for i in range(start, end))


def test_resume_continues_exactly(slab_cohort, tmp_path):
    cases = find_training_cases(slab_cohort)
    quiet = {"log": lambda *_: None}
    straight = load_model(train_model(cases, _config(epochs=2), tmp_path / "straight", "s", "0", "test", **quiet))
    train_model(cases, _config(epochs=1), tmp_path / "resumed", "r", "0", "test", **quiet)
    resumed = load_model(train_model(cases, _config(epochs=2), tmp_path / "resumed", "r", "0", "test", resume=True, **quiet))
    assert [h["epoch"] for h in resumed.card.training["history"]] == [1, 2]
    for key, value in straight.network.state_dict().items():
        assert torch.allclose(value.float(), resumed.network.state_dict()[key].float(), atol=1e-5), key


def test_fine_tune_starts_from_a_models_unet_and_refuses_one_that_does_not_fit(slab_cohort, tmp_path):
    cases = find_training_cases(slab_cohort)
    quiet = {"log": lambda *_: None}
    start = load_model(train_model(cases, _config(epochs=1), tmp_path / "start", "start", "0.1", "test", **quiet))
    # a learning rate too small to move the weights: the result is the starting network, not a fresh one
    out = tmp_path / "tuned"
    assert main(["train", "--data", str(slab_cohort), "--out", str(out), "--fine-tune", str(start.path), "--width", "4", "--epochs", "1",
                 "--crop", "64", "--batch-size", "8", "--copies", "1", "--seed", "5", "--device", "cpu", "--learning-rate", "1e-12",
                 "--no-cache"]) == 0
    tuned = load_model(out.with_suffix(".json"))
    training = tuned.card.training
    assert training["fine_tuned_from"] == f"start 0.1's U-Net (weights sha256 {start.card.weights_sha256})"
    assert training["best_epoch"] in (0, 1) and [h["epoch"] for h in training["history"]] == [1]
    weights = dict(tuned.network.named_parameters())  # parameters: batch norm's running statistics move at any rate
    for key, value in start.network.named_parameters():
        assert torch.allclose(value, weights[key], atol=1e-6), key
    fresh = dict(load_model(train_model(cases, _config(epochs=1, learning_rate=1e-12, seed=6), tmp_path / "fresh", "f", "0", "test",
                                        **quiet)).network.named_parameters())
    assert not all(torch.allclose(value, fresh[key], atol=1e-3) for key, value in start.network.named_parameters())
    # what fine-tuning cannot do: another width, other inputs, another task
    for changes, named in (({"base_width": 8}, "--width"), ({"inputs": ("swi",)}, "--inputs"), ({"task": "cmb"}, "--task")):
        with pytest.raises(InputError, match=named):
            train_model(cases, _config(epochs=1, **changes), tmp_path / "bad", "b", "0", "test", fine_tune=start, **quiet)
    # a checkpoint of a run from fresh weights is not continued as a fine-tuning run
    train_model(cases, _config(epochs=1), tmp_path / "mixed", "m", "0", "test", **quiet)
    with pytest.raises(InputError, match="started from fresh weights"):
        train_model(cases, _config(epochs=2), tmp_path / "mixed", "m", "0", "test", resume=True, fine_tune=start, **quiet)


def test_data_parallel_training_with_torchrun(slab_cohort, tmp_path):
    out = tmp_path / "ddp"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "DeepMIRLib.cli",
               "train", "--data", str(slab_cohort), "--out", str(out), "--width", "4", "--epochs", "1", "--crop", "64",
               "--batch-size", "4", "--copies", "1", "--device", "cpu", "--cache", str(tmp_path / "cache")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["training"]["processes"] == 2
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 3  # both ranks used one cache: one entry per case
    load_model(out.with_suffix(".json"))


def test_experiment_tiny(slab_cohort, tmp_path, monkeypatch):
    """Leave-one-out over 3 slab participants, SWI vs SWI+QSM, multiclass, 1 epoch each."""
    from DeepMIRLib import casecache

    prepared = []
    real_prepare = casecache.prepare_arrays
    monkeypatch.setattr(casecache, "prepare_arrays", lambda case, *args: prepared.append(case.case_id) or real_prepare(case, *args))
    out = tmp_path / "experiment"
    args = ["experiment", "--data", str(slab_cohort), "--out", str(out), "--modalities", "swi", "swi+qsm", "--folds", "loo",
            "--width", "4", "--epochs", "1", "--crop", "64", "--copies", "1", "--batch-size", "8", "--device", "cpu"]
    assert main(args) == 0
    assert sorted(prepared) == ["sim-41-0000", "sim-41-0001", "sim-41-0002"]  # once each, for 3 folds x 2 modality sets
    assert len(list((out / "cache").glob("*.npz"))) == 3
    rows = (out / "per_participant.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * 3 * 2  # modality sets x participants x classes
    table = (out / "table3.md").read_text()
    assert "| Multiclass: Cerebral microbleed | SWI |" in table and "| Multiclass: Iron deposit | SWI + QSM |" in table
    results = json.loads((out / "results.json").read_text())
    assert set(results) == {f"multiclass|{m}|{c}" for m in ("SWI", "SWI + QSM") for c in ("cmb", "iron")}
    assert "sensitivity" in results["multiclass|SWI + QSM|cmb"]["p_values"]
    for name in ("figure_multiclass_cmb_scatter.png", "figure_multiclass_iron_magnitude.png"):
        assert (out / name).stat().st_size > 5_000
    assert len(list((out / "models").glob("*.json"))) >= 6  # one model per fold and modality set


# counts like the paper's Table 2 / section 2.1: 4 participants without microbleeds, 13 with
# 1 or 2, 6 with 3 to 8, and one with more than 100
PAPER_LIKE_CMB_COUNTS = [0] * 4 + [1, 2] * 6 + [1] + [3, 4, 5, 6, 8, 3] + [105]


def test_outlier_counts_finds_the_participant_with_over_100_microbleeds():
    from DeepMIRLib.experiment import outlier_counts

    assert np.flatnonzero(outlier_counts(PAPER_LIKE_CMB_COUNTS)).tolist() == [len(PAPER_LIKE_CMB_COUNTS) - 1]
    assert not outlier_counts([3, 4, 5, 4, 3, 4, 5, 4, 3, 4]).any()
    with pytest.raises(InputError, match="at least 8"):
        outlier_counts([1, 2, 100])


def test_outlier_cases_counts_microbleeds_in_the_label_files(slab_cohort):
    from DeepMIRLib.experiment import outlier_cases
    from DeepMIRLib.lesions import label_components
    from DeepMIRLib.training import TrainingCase
    from DeepMIRLib.volumes import read_volume

    cases = find_training_cases(slab_cohort)
    counts = [label_components(read_volume(c.labels, dtype=np.uint8).array == 1)[1] for c in cases]
    heavy = int(np.argmax(counts))
    assert counts[heavy] > 4 * sorted(counts)[-2]  # the dense load gives one participant very many microbleeds
    repeated = [TrainingCase(f"{c.case_id}-{k}", c.inputs, c.labels) for k in range(3) for c in cases]
    assert outlier_cases(repeated) == []  # each count three times: nobody stands out
    others = [TrainingCase(f"{c.case_id}-{k}", c.inputs, c.labels) for k in range(4) for i, c in enumerate(cases) if i != heavy]
    assert outlier_cases(others + [cases[heavy]]) == [cases[heavy].case_id]


def test_cosine_schedule_decays_to_a_twentieth_and_constant_stays():
    cosine = Trainer(_config(epochs=5, cosine_schedule=True, base_width=2), [], [])
    rates = [cosine.learning_rate(e) for e in range(5)]
    assert rates[0] == pytest.approx(1e-3) and rates[-1] == pytest.approx(5e-5)
    assert all(a > b for a, b in itertools.pairwise(rates))
    constant = Trainer(_config(epochs=5, base_width=2), [], [])
    assert {constant.learning_rate(e) for e in range(5)} == {1e-3}


def test_cases_on_other_grids_train_and_validate_together(slab_cohort, tmp_path):
    """Training sets may mix protocols (simulate --vary-protocol): slices of other sizes go in
    batches of their own for validation, and whole-slice training (--crop 0) is refused
    with a clear error instead of failing inside numpy."""
    assert main(["simulate", "--n", "1", "--seed", "43", "--slab", "16", "--spacing", "1.2", "1.2", "1.5",
                 "--size", "160", "214", "104", "--out", str(tmp_path / "other")]) == 0
    nominal = prepare_case(find_training_cases(slab_cohort)[0], ["swi", "qsm", "t2"], "multiclass")
    other = prepare_case(find_training_cases(tmp_path / "other")[0], ["swi", "qsm", "t2"], "multiclass")
    assert nominal.labels.shape[1:] != other.labels.shape[1:]
    trainer = Trainer(_config(), [nominal, other], [nominal, other])
    trainer.fit()
    assert all(0.0 <= entry["validation_iou"] <= 1.0 for entry in trainer.history)
    with pytest.raises(InputError, match="crop"):
        Trainer(_config(crop=0), [nominal, other], [nominal])


def test_experiment_two_stages_and_resume(slab_cohort, tmp_path, monkeypatch):
    """--two-stages gives each fold's multiclass U-Net a second stage trained on its training
    participants' candidates and calibrated on its validation participants, tests both on the
    fold's participants and compares them (two-stages/, stages.md); --resume reuses the fold
    models. The fold U-Net here is the bundled one (a 1-epoch U-Net proposes no useful
    candidates), written with the card record train_model would give it."""
    from DeepMIRLib import experiment
    from DeepMIRLib.modelfile import save_model
    from DeepMIRLib.training import _config_dict

    trained = []

    def bundled_unet(cases, config, out, name, version, data_description, log=print, cache=None, **_):
        trained.append(out.name)
        train_ids, validation_ids = split_cases([c.case_id for c in cases], config.seed, config.validation_fraction)
        loaded = load_model("default")
        loaded.card.training = {"data": data_description, "training_cases": train_ids, "validation_cases": validation_ids,
                                "config": _config_dict(config)}
        loaded.card.second_stage = None  # a U-Net alone, as train_model writes it
        return save_model(loaded.network, loaded.card, out)

    monkeypatch.setattr(experiment, "train_model", bundled_unet)
    out = tmp_path / "experiment"
    args = ["experiment", "--data", str(slab_cohort), "--out", str(out), "--modalities", "swi+qsm+t2", "--folds", "loo",
            "--device", "cpu", "--two-stages", "--no-cache"]
    assert main(args) == 0
    assert trained == [f"multiclass-swi-qsm-t2-fold{k}" for k in range(3)]
    assert len(list((out / "models").glob("*-2stage.json"))) == 3
    for folder in (out, out / "two-stages"):
        assert len((folder / "per_participant.csv").read_text().splitlines()) == 1 + 3 * 2
    stages = (out / "stages.md").read_text()
    assert "| Multiclass: Cerebral microbleed | SWI + QSM + T2, two stages |" in stages
    assert "| Multiclass: Iron deposit | SWI + QSM + T2, U-Net alone |" in stages
    before = (out / "two-stages" / "per_participant.csv").read_text()

    trained.clear()
    assert main(args + ["--resume"]) == 0
    assert trained == []  # every fold's U-Net and second stage reused
    assert (out / "two-stages" / "per_participant.csv").read_text() == before
