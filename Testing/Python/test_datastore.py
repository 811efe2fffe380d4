"""The training set (datastore): saving and reading back with SimpleITK, versions kept, two
processes saving at once, case-id and grid checks, lesion-level change tracking on
simulated labels edited like a reader would, what training reads, and `deepmir datastore`."""

from __future__ import annotations

import datetime
import json
import multiprocessing
import os

import numpy as np
import pytest
import SimpleITK as sitk
from scipy import ndimage

from DeepMIRLib.cli import main
from DeepMIRLib.datastore import INDEX_NAME, LOCK_NAME, Datastore, validate_case_id
from DeepMIRLib.errors import InputError
from DeepMIRLib.lesions import label_changes, label_components
from DeepMIRLib.simulation.phantom import Protocol, simulate_participant
from DeepMIRLib.simulation.placement import LesionLoad
from DeepMIRLib.training import find_training_cases, prepare_case
from DeepMIRLib.volumes import Volume, read_volume, write_volume

MODEL = {"name": "deepmir-test", "version": "0.0.1", "sha256": "ab" * 32}
# a small slab at half the in-plane resolution: about 2 s per participant
PROTOCOL = Protocol(slab_slices=12, swi_size=(96, 128, 104), swi_spacing=(2.0, 2.0, 1.5))


@pytest.fixture(scope="module")
def participants():
    """Two simulated participants: {'images': {swi, qsm, t2 (own grid), brainmask}, 'labels'}."""
    found = []
    for index in range(2):
        simulated = simulate_participant((41, index), PROTOCOL, LesionLoad.named("dense"))
        images = {name: simulated.images[name] for name in ("swi", "qsm", "t2", "brainmask")}
        labels = simulated.images["labels"]
        found.append({"images": images, "labels": labels.with_array(labels.array.astype(np.uint8))})
    return found


def component_masks(labels: np.ndarray, value: int) -> list[np.ndarray]:
    labelled, count = label_components(labels == value)
    return [labelled == number for number in range(1, count + 1)]


def isolated(mask: np.ndarray, labels: np.ndarray) -> bool:
    """No voxel of another lesion touches `mask` (26-neighbours), so that relabelling it
    cannot merge it with a lesion of the other class."""
    near = ndimage.binary_dilation(mask, np.ones((3, 3, 3), bool))
    return not (near & (labels > 0) & ~mask).any()


def reader_edits(labels: np.ndarray):
    """The model output edited as a reader would: one microbleed deleted, one iron deposit
    relabelled as a microbleed, one microbleed painted where there was none. Returns the
    edited array and the (deleted, relabelled, added) masks."""
    edited = labels.copy()
    cmbs = [m for m in component_masks(labels, 1) if isolated(m, labels)]
    irons = [m for m in component_masks(labels, 2) if isolated(m, labels)]
    deleted, relabelled = cmbs[0], irons[0]
    edited[deleted] = 0
    edited[relabelled] = 1
    added = np.zeros_like(deleted)
    brain_free = ndimage.binary_erosion(labels == 0, np.ones((3, 7, 7), bool))  # no lesion within 3 voxels in plane
    z, y, x = np.argwhere(brain_free)[len(np.argwhere(brain_free)) // 2]
    added[z, y - 1 : y + 1, x - 1 : x + 1] = True
    edited[added] = 1
    return edited, deleted, relabelled, added


def read_back(path) -> sitk.Image:
    return sitk.ReadImage(str(path))


# --- saving and reading back -------------------------------------------------------------

def test_save_and_read_back_with_simpleitk(tmp_path, participants):
    images, original = participants[0]["images"], participants[0]["labels"]
    edited, *_ = reader_edits(original.array)
    store = Datastore(tmp_path / "store", create=True)
    entry = store.save_case("sub-01", images, original.with_array(edited), original_labels=original, annotator="reader A", model=MODEL)

    root = tmp_path / "store"
    assert (root / "images" / "sub-01" / "swi.nii.gz").is_file() and (root / "images" / "sub-01" / "t2.nii.gz").is_file()
    assert store.final_labels_path("sub-01") == root / "labels" / "final" / "versions" / "sub-01" / "v0001.nii.gz"
    assert store.original_labels_path("sub-01").is_file()
    swi_file = read_back(store.image_paths("sub-01")["swi"])
    current_copies = ((root / "labels" / "final" / "sub-01.nii.gz", edited), (root / "labels" / "original" / "sub-01.nii.gz", original.array))
    for path, expected in ((store.final_labels_path("sub-01"), edited), *current_copies):
        label_image = read_back(path)
        assert label_image.GetSize() == swi_file.GetSize()
        assert label_image.GetOrigin() == swi_file.GetOrigin() and label_image.GetSpacing() == swi_file.GetSpacing()
        assert label_image.GetDirection() == swi_file.GetDirection()
        assert np.allclose(label_image.GetOrigin(), images["swi"].origin, atol=1e-4)
        assert np.array_equal(sitk.GetArrayFromImage(label_image), expected)
    assert np.array_equal(sitk.GetArrayFromImage(swi_file), images["swi"].array)
    t2_file = read_back(store.image_paths("sub-01")["t2"])  # the T2 keeps its own grid
    assert t2_file.GetSize() == images["t2"].shape[::-1] and np.allclose(t2_file.GetOrigin(), images["t2"].origin, atol=1e-4)

    assert entry.version == 1 and entry.status == "approved" and entry.annotator == "reader A"
    assert entry.model == MODEL and entry.case == "sub-01"
    assert datetime.datetime.fromisoformat(entry.time.replace("Z", "+00:00")).utcoffset() == datetime.timedelta(0)
    assert entry.label_info["names"] == {"0": "Background", "1": "Cerebral microbleed", "2": "Iron deposit"}
    assert entry.label_info["lesions"]["cmb"] == len(component_masks(edited, 1))
    assert entry.changes["counts"] == {"kept": len(component_masks(edited, 1)) + len(component_masks(edited, 2)) - 2, "relabelled": 1, "added": 1, "deleted": 1}
    index = json.loads((root / INDEX_NAME).read_text())
    assert index["format"] == "deepmir-datastore" and index["cases"]["sub-01"] == [entry.to_dict()]
    assert store.cases() == [entry] and store.entries("sub-01") == [entry]


def test_the_swi_echo_time_is_kept_with_the_case_and_given_to_training(tmp_path, participants):
    """A case saved with its SWI's echo time gives it to training and calibration (a second
    stage that takes it, or a long-echo minimum); one saved without it, and an index written
    before the field, read as before; a value in seconds is refused before anything is written."""
    images, labels = participants[0]["images"], participants[0]["labels"]
    store = Datastore(tmp_path / "store", create=True)
    with pytest.raises(InputError, match="SWI echo time"):
        store.save_case("sub-01", images, labels, swi_echo_time_ms=0.025)
    assert not (tmp_path / "store" / "images").exists()
    entry = store.save_case("sub-01", images, labels, swi_echo_time_ms=25)
    store.save_case("sub-02", participants[1]["images"], participants[1]["labels"])
    index = json.loads((tmp_path / "store" / INDEX_NAME).read_text())
    assert entry.swi_echo_time_ms == 25.0 and index["cases"]["sub-01"][0]["swi_echo_time_ms"] == 25.0
    assert "swi_echo_time_ms" not in index["cases"]["sub-02"][0]  # as an index written before the field
    cases = {case.case_id: case for case in find_training_cases(tmp_path / "store")}
    assert cases["sub-01"].inputs.echo_time() == 25.0 and cases["sub-02"].inputs.echo_time() is None

    index["cases"]["sub-01"][0]["swi_echo_time_ms"] = 0.025
    (tmp_path / "store" / INDEX_NAME).write_text(json.dumps(index))
    with pytest.raises(InputError, match="swi_echo_time_ms"):
        Datastore(tmp_path / "store").cases()


def test_a_second_save_keeps_the_first(tmp_path, participants):
    images, original = participants[0]["images"], participants[0]["labels"]
    first, second = original.array.copy(), reader_edits(original.array)[0]
    store = Datastore(tmp_path / "store", create=True)
    store.save_case("sub-01", images, original.with_array(first), original_labels=original, annotator="A", model=MODEL)
    v1_file = store.final_labels_path("sub-01", 1)
    entry = store.save_case("sub-01", images, original.with_array(second), annotator="B")

    assert [e.version for e in store.entries("sub-01")] == [1, 2] and entry.annotator == "B"
    assert np.array_equal(sitk.GetArrayFromImage(read_back(v1_file)), first)  # the first is kept as it was
    assert np.array_equal(sitk.GetArrayFromImage(read_back(store.final_labels_path("sub-01"))), second)
    # without a new model output, the entry is compared with the one saved before (and names its model)
    assert entry.original == store.entries("sub-01")[0].original and entry.model == MODEL
    assert entry.changes["counts"] == label_changes(original.array, second)["counts"]
    assert entry.changes["deleted"] == label_changes(original.array, second)["deleted"]
    assert "kept" not in entry.changes  # counted, not listed, in the index
    assert entry.images_version == 1 and not (tmp_path / "store" / "images" / "sub-01" / "versions").exists()

    # other images: the earlier set is kept for the versions that used it
    brighter = {**images, "swi": images["swi"].with_array(images["swi"].array * 2)}
    store.save_case("sub-01", brighter, original.with_array(second), original_labels=original)
    assert store.image_paths("sub-01", 1)["swi"] == tmp_path / "store" / "images" / "sub-01" / "versions" / "v0001" / "swi.nii.gz"
    assert np.array_equal(read_volume(store.image_paths("sub-01", 2)["swi"]).array, images["swi"].array)
    assert np.array_equal(read_volume(store.image_paths("sub-01")["swi"]).array, brighter["swi"].array)

    # a draft is kept but is not what training reads
    draft = store.save_case("sub-01", brighter, original.with_array(np.zeros_like(second)), status="draft")
    assert draft.version == 4 and store.approved()[0].version == 3
    assert np.array_equal(read_volume(store.final_labels_path("sub-01"), np.uint8).array, second)
    assert not read_volume(store.final_labels_path("sub-01", 4), np.uint8).array.any()
    assert [e.version for e in store.entries("sub-01")] == [1, 2, 3, 4]


def _save_from_another_process(root, inputs, annotator, saves, barrier):
    """Runs in a child process: wait for the other one, then save `saves` versions."""
    images = {name: read_volume(path) for name, path in inputs.items() if name != "labels"}
    labels = read_volume(inputs["labels"], np.uint8)
    barrier.wait()
    store = Datastore(root)
    for number in range(saves):
        edited = labels.array.copy()
        edited[0, 0, number] = 1  # a mark that tells the saves apart
        store.save_case("sub-01", images, labels.with_array(edited), annotator=f"{annotator}-{number}")


def test_two_processes_saving_at_once_lose_nothing(tmp_path, participants):
    inputs = {}
    for name, volume in {**participants[0]["images"], "labels": participants[0]["labels"]}.items():
        inputs[name] = write_volume(volume, tmp_path / "inputs" / f"{name}.nii.gz")
    root = tmp_path / "store"
    Datastore(root, create=True)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    processes = [context.Process(target=_save_from_another_process, args=(root, inputs, who, 3, barrier)) for who in ("A", "B")]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=300)
    assert [process.exitcode for process in processes] == [0, 0]

    entries = Datastore(root).entries("sub-01")
    assert [e.version for e in entries] == [1, 2, 3, 4, 5, 6]
    assert sorted(e.annotator for e in entries) == ["A-0", "A-1", "A-2", "B-0", "B-1", "B-2"]
    for entry in entries:
        mark = int(entry.annotator[-1])
        saved = sitk.GetArrayFromImage(read_back(root / entry.final.file))
        assert saved[0, 0, mark] == 1 and np.array_equal(np.delete(saved[0, 0], mark), np.delete(participants[0]["labels"].array[0, 0], mark))
    assert sorted(os.listdir(root / "labels" / "final" / "versions" / "sub-01")) == [f"v000{v}.nii.gz" for v in range(1, 7)]
    assert not [name for name in os.listdir(root / "images" / "sub-01") if name.startswith(".")]  # no temporary left over


# --- refusing bad input ---------------------------------------------------------------------

@pytest.mark.parametrize("case_id", ["", "..", "../sub-01", "sub/01", "sub\\01", "/tmp/x", ".hidden", "-rf", "a..b", "versions", "sub 01", "x" * 129, "sub-01\n"])
def test_bad_case_ids_are_refused(tmp_path, participants, case_id):
    with pytest.raises(InputError, match="not a valid case id"):
        validate_case_id(case_id)
    store = Datastore(tmp_path / "store", create=True)
    with pytest.raises(InputError):
        store.save_case(case_id, participants[0]["images"], participants[0]["labels"])
    assert sorted(os.listdir(tmp_path / "store")) == [INDEX_NAME, LOCK_NAME]  # nothing written


def test_good_case_ids_pass():
    for case_id in ("sub-01", "MESA_0001", "sub-01_ses-2.v2", "7"):
        assert validate_case_id(case_id) == case_id


def test_labels_off_the_swi_grid_or_with_other_values_are_refused(tmp_path, participants):
    images, labels = participants[0]["images"], participants[0]["labels"]
    store = Datastore(tmp_path / "store", create=True)
    shifted = Volume(labels.array, tuple(np.add(labels.origin, (2.0, 0, 0))), labels.spacing, labels.direction)
    cropped = Volume(labels.array[:, :-1], labels.origin, labels.spacing, labels.direction)
    three = labels.with_array(np.where(labels.array == 2, 3, labels.array).astype(np.uint8))
    half = labels.with_array(labels.array * np.float32(0.5))
    for bad, problem in ((shifted, "not on the SWI grid"), (cropped, "not on the SWI grid"), (three, r"values \[3\]"), (half, r"values such as 0.5")):
        with pytest.raises(InputError, match=problem):
            store.save_case("sub-01", images, bad)
        with pytest.raises(InputError, match="original labels"):
            store.save_case("sub-01", images, labels, original_labels=bad)
    with pytest.raises(InputError, match="SWI image is required"):
        store.save_case("sub-01", {"qsm": images["qsm"]}, labels)
    with pytest.raises(InputError, match="unknown image names"):
        store.save_case("sub-01", {**images, "flair": images["swi"]}, labels)
    with pytest.raises(InputError, match="status"):
        store.save_case("sub-01", images, labels, status="maybe")
    assert store.cases() == [] and not (tmp_path / "store" / "labels").exists()


def test_a_folder_that_is_not_a_datastore_is_refused(tmp_path):
    with pytest.raises(InputError, match="folder not found"):
        Datastore(tmp_path / "missing")
    with pytest.raises(InputError, match="not a DeepMIR datastore"):
        Datastore(tmp_path)
    (tmp_path / "labels" / "final").mkdir(parents=True)
    with pytest.raises(InputError, match="without an index"):
        Datastore(tmp_path, create=True)  # would hide the label files already there from training
    (tmp_path / INDEX_NAME).write_text('{"cases": []}')
    with pytest.raises(InputError, match="not a DeepMIR datastore index"):
        Datastore(tmp_path)
    (tmp_path / INDEX_NAME).write_text("{")
    with pytest.raises(InputError, match="cannot be read"):
        Datastore(tmp_path)


# --- what the reader changed ----------------------------------------------------------------

def test_label_changes_on_simulated_labels_edited_by_a_reader(participants):
    original = participants[1]["labels"].array
    n_cmb, n_iron = len(component_masks(original, 1)), len(component_masks(original, 2))
    assert n_cmb > 3 and n_iron > 1
    unchanged = label_changes(original, original)
    assert unchanged["counts"] == {"kept": n_cmb + n_iron, "relabelled": 0, "added": 0, "deleted": 0} and unchanged["voxels_changed"] == 0

    edited, deleted, relabelled, added = reader_edits(original)
    changes = label_changes(original, edited)
    assert changes["counts"] == {"kept": n_cmb + n_iron - 2, "relabelled": 1, "added": 1, "deleted": 1}
    assert changes["voxels_changed"] == deleted.sum() + relabelled.sum() + added.sum()
    (item,) = changes["deleted"]
    assert item["label"] == 1 and item["voxels"] == deleted.sum()
    assert np.allclose(item["centroid_index"], np.argwhere(deleted).mean(axis=0)[::-1], atol=1e-3)
    (item,) = changes["relabelled"]
    assert (item["from_label"], item["label"], item["class"], item["voxels"]) == (2, 1, "Cerebral microbleed", relabelled.sum())
    (item,) = changes["added"]
    assert item["label"] == 1 and item["voxels"] == added.sum() == 4

    # a lesion grown by the reader is still kept; one that touches an original lesion of its own class too is kept
    grown = original.copy()
    cmb = component_masks(original, 1)[0]
    grown[ndimage.binary_dilation(cmb) & (original == 0)] = 1
    assert label_changes(original, grown)["counts"]["kept"] <= n_cmb + n_iron
    assert label_changes(original, grown)["counts"]["added"] == 0 and label_changes(original, grown)["counts"]["deleted"] == 0
    # everything erased: every original lesion deleted
    assert label_changes(original, np.zeros_like(original))["counts"] == {"kept": 0, "relabelled": 0, "added": 0, "deleted": n_cmb + n_iron}
    with pytest.raises(ValueError):
        label_changes(original, original[:-1])


# --- what training reads, and the listing ------------------------------------------------------

def build_store(root, participants):
    """sub-a: two approved versions; sub-b: approved then a draft; sub-c: a draft only."""
    store = Datastore(root, create=True)
    first, second = participants
    edited = reader_edits(first["labels"].array)[0]
    store.save_case("sub-a", first["images"], first["labels"], original_labels=first["labels"], annotator="A", model=MODEL)
    store.save_case("sub-a", first["images"], first["labels"].with_array(edited), original_labels=first["labels"], annotator="B", model=MODEL)
    store.save_case("sub-b", second["images"], second["labels"], annotator="A")
    store.save_case("sub-b", second["images"], second["labels"].with_array(np.zeros_like(second["labels"].array)), annotator="A", status="draft")
    store.save_case("sub-c", first["images"], first["labels"], annotator="C", status="draft")
    return store, edited


def test_training_reads_the_newest_approved_label_of_each_case(tmp_path, participants):
    store, edited = build_store(tmp_path / "store", participants)
    cases = find_training_cases(store.root)
    assert [case.case_id for case in cases] == ["sub-a", "sub-b"]  # sub-c has a draft only
    # the version file the index names, never the labels/final/<case> copy (a kill can leave it behind)
    assert [case.labels for case in cases] == [store.root / e.final.file for e in store.approved()]
    assert np.array_equal(read_volume(cases[0].labels, np.uint8).array, edited)
    assert np.array_equal(read_volume(cases[1].labels, np.uint8).array, participants[1]["labels"].array)  # not the draft
    assert cases[0].inputs.swi == store.root / "images" / "sub-a" / "swi.nii.gz" and cases[0].inputs.mask.name == "brainmask.nii.gz"
    prepared = prepare_case(cases[0], ["swi", "qsm"], "multiclass")
    assert prepared.stack.shape[0] == 2 and (prepared.labels == 1).sum() == (edited == 1).sum()


def test_deepmir_datastore_lists_the_cases(tmp_path, participants, capsys):
    store, _ = build_store(tmp_path / "store", participants)
    assert main(["datastore", str(store.root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["case", "status", "versions", "training", "annotator", "time", "model", "kept", "relabelled", "added", "deleted"]
    rows = {line.split()[0]: line.split() for line in lines[1:4]}
    assert rows["sub-a"][:5] == ["sub-a", "approved", "2", "v2", "B"] and rows["sub-a"][6:9] == ["deepmir-test", "0.0.1", str(store.entry("sub-a").changes["counts"]["kept"])]
    assert rows["sub-a"][-3:] == ["1", "1", "1"]
    assert rows["sub-b"][:5] == ["sub-b", "draft", "2", "v1", "A"] and rows["sub-b"][-4:] == ["-"] * 4
    assert rows["sub-c"][:4] == ["sub-c", "draft", "1", "-"]
    assert lines[-1] == "3 cases, 2 with an approved label (read by deepmir train)"

    assert main(["datastore", str(store.root), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [row["case"] for row in listed] == ["sub-a", "sub-b", "sub-c"]
    assert listed[0]["versions"] == 2 and listed[0]["model"] == MODEL and listed[0]["changes"]["relabelled"] == 1
    assert listed[2]["training_version"] is None

    assert main(["datastore", str(tmp_path)]) == 2
    assert "not a DeepMIR datastore" in capsys.readouterr().err
