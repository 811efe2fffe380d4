"""The reading station without a browser: worklist, access rules, and ReadingSession on the slicer-core scene."""

from __future__ import annotations

import multiprocessing
import shutil
import sys

import numpy as np
import pytest

from DeepMIRLib.classes import CMB, IRON
from DeepMIRLib.datastore import Datastore
from DeepMIRLib.errors import InputError
from DeepMIRLib.review.access import access_url, is_loopback, refusal
from DeepMIRLib.review.worklist import APPROVED, IN_PROGRESS, NOT_READ, Case, case_statuses, load_worklist, next_unread, status_of
from DeepMIRLib.volumes import read_volume


@pytest.fixture()
def cohort(slab_cohort, tmp_path):
    """Copies of two slab participants."""
    folder = tmp_path / "cohort"
    for name in ("sim-41-0000", "sim-41-0001"):
        shutil.copytree(slab_cohort / name, folder / name)
    return folder


# --- worklist --------------------------------------------------------------------------------

def test_worklist_of_a_cohort_lists_participants_with_absolute_image_paths(cohort):
    cases = load_worklist(cohort)
    assert [case.case_id for case in cases] == ["sim-41-0000", "sim-41-0001"]
    assert set(cases[0].images) == {"swi", "qsm", "t2", "brainmask"}
    assert all(path.is_absolute() and path.is_file() for path in cases[0].images.values())


def test_worklist_refuses_images_outside_its_folder(cohort, tmp_path):
    outside = tmp_path / "elsewhere" / "sim-41-0009"
    shutil.copytree(cohort / "sim-41-0001", outside)
    (cohort / "sim-41-0009").symlink_to(outside)
    with pytest.raises(InputError, match="outside"):
        load_worklist(cohort)


def test_worklist_refuses_a_participant_name_that_is_no_case_id(cohort):
    (cohort / "sim-41-0001").rename(cohort / "bad name")
    with pytest.raises(InputError, match="not a valid case id"):
        load_worklist(cohort)


def test_worklist_of_a_datastore_and_statuses(cohort, tmp_path):
    swi = read_volume(cohort / "sim-41-0000" / "swi.nii.gz")
    labels = swi.with_array(np.zeros(swi.shape, np.uint8))
    store = Datastore(tmp_path / "store", create=True)
    store.save_case("a-case", {"swi": swi}, labels, annotator="ann", status="draft")
    store.save_case("b-case", {"swi": swi}, labels, annotator="bob")
    cases = load_worklist(tmp_path / "store")
    assert [case.case_id for case in cases] == ["a-case", "b-case"]
    assert read_volume(cases[1].images["swi"]).shape == swi.shape
    statuses = case_statuses(tmp_path / "store")
    assert status_of(statuses, "a-case")["status"] == IN_PROGRESS
    assert status_of(statuses, "b-case") == {"status": APPROVED, "annotator": "bob", "version": 1}
    assert status_of(statuses, "c-case")["status"] == NOT_READ
    assert case_statuses(tmp_path / "not-yet") == {}


def test_next_unread_skips_approved_cases_and_wraps():
    cases = [Case(name, {}) for name in "abcd"]
    statuses = {"b": {"status": APPROVED}, "c": {"status": APPROVED}}
    assert next_unread(cases, statuses, 0) == 3
    assert next_unread(cases, statuses, 3) == 0
    assert next_unread(cases, {name: {"status": APPROVED} for name in "abcd"}, 1) is None


# --- access ----------------------------------------------------------------------------------

def test_loopback_addresses():
    assert all(is_loopback(host) for host in ("127.0.0.1", "127.3.4.5", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(host) for host in ("0.0.0.0", "10.1.2.3", "example.org", "::"))


def test_access_rules():
    def refused(host="127.0.0.1:8080", origin=None, upgrade=None, query=None, cookie=None, token=None, loopback=True):
        return refusal(host, origin, upgrade, query, cookie, token, loopback)

    assert refused() is None
    assert refused(host="localhost:8080") is None
    assert "loopback" in refused(host="attacker.example:8080")  # DNS rebinding
    assert "origin" in refused(upgrade="websocket", origin="http://attacker.example")
    assert refused(upgrade="websocket", origin="http://127.0.0.1:8080") is None
    assert "token" in refused(host="10.0.0.5:8080", token="s3cret", loopback=False)
    assert "token" in refused(host="10.0.0.5:8080", query="wrong", token="s3cret", loopback=False)
    assert refused(host="10.0.0.5:8080", query="s3cret", token="s3cret", loopback=False) is None
    assert refused(host="10.0.0.5:8080", cookie="s3cret", token="s3cret", loopback=False) is None


def test_access_url_carries_the_token_off_loopback():
    assert access_url("127.0.0.1", 8080, None) == "http://127.0.0.1:8080/"
    assert access_url("10.0.0.5", 9000, "abc") == "http://10.0.0.5:9000/?token=abc"


def test_review_without_the_web_extra_names_it(cohort, tmp_path, monkeypatch, capsys):
    from DeepMIRLib.cli import main

    monkeypatch.setitem(sys.modules, "trame_slicer", None)  # import fails as if not installed
    assert main(["review", str(cohort), "--datastore", str(tmp_path / "store"), "--port", "0"]) == 2
    assert "DeepMIRLib[web]" in capsys.readouterr().err


# --- reading session on the slicer-core scene ---------------------------------------------------

def simulated_detection(case_folder):
    """A Detection made of the participant's simulated truth (no network: the browser test runs the real one)."""
    from DeepMIRLib.lesions import find_lesions
    from DeepMIRLib.results import Detection, ModelSummary

    labels = read_volume(case_folder / "labels.nii.gz", np.uint8)
    model = ModelSummary("truth", "0", "", "multiclass", ("swi",))
    return Detection(case_folder.name, labels, {}, find_lesions(labels), model)


@pytest.fixture()
def session(cohort, tmp_path):
    pytest.importorskip("slicer", reason="the scene extra (slicer-core) is not installed")
    from DeepMIRLib import scene
    from DeepMIRLib.review.session import ReadingSession

    reading = ReadingSession(scene.new_scene(), tmp_path / "store")
    reading.open(load_worklist(cohort)[0])
    return reading


def test_session_opens_a_case_with_empty_segments(session):
    assert set(session.volume_nodes) == {"swi", "qsm", "t2"}
    assert session.lesions == [] and session.refresh_lesions() == []
    segmentation = session.segmentation_node.GetSegmentation()
    assert segmentation.GetNumberOfSegments() == 2


def test_session_edits_and_approves_into_the_training_set(session, cohort):
    detection = simulated_detection(cohort / "sim-41-0000")
    session._show_detection(detection)
    count = len(session.lesions)
    cmb = next(i for i, lesion in enumerate(session.lesions) if lesion.label == CMB)
    assert session.lesion_focus_ras(cmb) == pytest.approx(session.lesions[cmb].centroid_ras, abs=0.76)
    assert session.delete_lesion(cmb)
    assert len(session.lesions) == count - 1
    iron = next(i for i, lesion in enumerate(session.lesions) if lesion.label == IRON)
    assert session.relabel_lesion(iron)
    session.set_segment_visible(CMB, False)
    session.set_segment_opacity(0.3)
    session.apply_window_preset("narrow")
    with pytest.raises(InputError, match="name"):
        session.approve("  ")
    entry = session.approve("reader")
    assert (entry.version, entry.annotator, entry.status) == (1, "reader", "approved")
    assert entry.original is not None
    assert {key: entry.changes["counts"][key] for key in ("deleted", "relabelled", "added")} == {"deleted": 1, "relabelled": 1, "added": 0}
    final = read_volume(session.datastore_root / entry.final.file, np.uint8)
    original = read_volume(session.datastore_root / entry.original.file, np.uint8)
    assert np.array_equal(original.array, detection.labels.array)
    assert (final.array == IRON).sum() < (original.array == IRON).sum()
    assert entry.swi_echo_time_ms == 7.5  # from the SWI's sidecar, kept with the case
    assert load_worklist(session.datastore_root)[0].swi_echo_time_ms == 7.5  # and read back from the training set


def test_cancelled_detection_leaves_the_segments_empty(session):
    import time

    session.start_detection()
    session.cancel_detection()
    deadline = time.monotonic() + 60
    while session.poll_detection().state == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert session.progress.state == "cancelled"
    assert session.detection is None and session.refresh_lesions() == []


def _approve_in_process(cohort, store, annotator, barrier):
    from DeepMIRLib import scene
    from DeepMIRLib.review.session import ReadingSession

    reading = ReadingSession(scene.new_scene(), store)
    reading.open(load_worklist(cohort)[0])
    barrier.wait(120)
    reading.approve(annotator)


def test_two_readers_approving_one_case_make_two_versions(cohort, tmp_path):
    pytest.importorskip("slicer", reason="the scene extra (slicer-core) is not installed")
    store = tmp_path / "store"
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    readers = [context.Process(target=_approve_in_process, args=(cohort, store, name, barrier)) for name in ("ann", "bob")]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(300)
        assert reader.exitcode == 0
    entries = Datastore(store).entries("sim-41-0000")
    assert [entry.version for entry in entries] == [1, 2]
    assert sorted(entry.annotator for entry in entries) == ["ann", "bob"]
    assert all((store / entry.final.file).is_file() for entry in entries)



@pytest.fixture(scope="session")
def web_ready() -> None:
    """Skip (or, with DEEPMIR_REQUIRE_BROWSER=1, fail) before the cohort is made, without the web extra."""
    from review_helpers import need_web_extra

    need_web_extra()


def test_erase_tool_removes_every_class_under_the_brush(web_ready, cohort, tmp_path):
    """The page's Erase tool (trame-slicer's effect in RemoveAll mode) clears a microbleed and an
    iron deposit under one 3 mm brush stroke; driven through the view's VTK interactor."""
    from trame.app import get_server

    from DeepMIRLib import scene
    from DeepMIRLib.lesions import find_lesions
    from DeepMIRLib.results import Detection, ModelSummary
    from DeepMIRLib.review.app import ReviewApp
    from DeepMIRLib.review.server import use_headless_rendering

    use_headless_rendering()
    app = ReviewApp(load_worklist(cohort), tmp_path / "store", server=get_server("erase-test", client_type="vue3"))
    app.open_case(0)
    swi = scene.volume_from_node(app.session.swi_node)
    labels = np.zeros(swi.shape, np.uint8)
    labels[8, 120, 100], labels[8, 120, 101] = CMB, IRON
    labels = swi.with_array(labels)
    app.session._show_detection(Detection("sim-41-0000", labels, {}, find_lesions(labels), ModelSummary("m", "0", "", "multiclass", ("swi",))))
    assert len(app.session.lesions) == 2
    view = app.slicer_app.view_manager.get_view("SWI_axial")
    view.interactor().UpdateSize(400, 400)
    view.get_view_node().SetDimensions(400, 400, 1)
    app.select_lesion(0)  # centres the views on the microbleed's voxel
    app.state.update({"tool": "erase", "paint_label": CMB, "brush_mm": 3.0})
    app._on_tool()
    interactor = view.interactor()
    interactor.SetEventPosition(200, 200)
    for event in ("MouseMoveEvent", "LeftButtonPressEvent", "LeftButtonReleaseEvent"):
        interactor.InvokeEvent(event)
    assert app.session.refresh_lesions() == []


def test_scrolling_one_axial_view_moves_the_others_and_keeps_their_modality(web_ready, cohort, tmp_path):
    from trame.app import get_server

    from DeepMIRLib.review.app import VIEWS, ReviewApp
    from DeepMIRLib.review.server import use_headless_rendering

    use_headless_rendering()
    app = ReviewApp(load_worklist(cohort), tmp_path / "store", server=get_server("link-test", client_type="vue3"))
    app.open_case(0)
    views = {tag: app.slicer_app.view_manager.get_view(tag) for tag in VIEWS}
    for view in views.values():
        view.interactor().UpdateSize(300, 300)
        view.get_view_node().SetDimensions(300, 300, 1)
    before = {tag: view.get_slice_value() for tag, view in views.items()}
    interactor = views["SWI_axial"].interactor()
    interactor.SetEventPosition(150, 150)
    interactor.InvokeEvent("MouseMoveEvent")
    for _ in range(3):
        interactor.InvokeEvent("MouseWheelForwardEvent")
    after = {tag: view.get_slice_value() for tag, view in views.items()}
    assert after["SWI_axial"] != before["SWI_axial"]
    assert after["QSM_axial"] == after["T2_axial"] == after["SWI_axial"]
    assert after["SWI_coronal"] == before["SWI_coronal"] and after["SWI_sagittal"] == before["SWI_sagittal"]
    nodes = app.session.volume_nodes
    for tag, (_, _, _, modality) in VIEWS.items():
        assert views[tag].get_background_volume_id() == nodes[modality].GetID()


def test_the_lesion_table_lists_the_least_sure_first_on_request(web_ready, cohort, tmp_path):
    """Ordered by the second stage's probability, lowest first (lesions without one last), the
    table keeps each lesion's number; next / previous and delete follow the table's order."""
    from trame.app import get_server

    from DeepMIRLib import scene
    from DeepMIRLib.lesions import find_lesions
    from DeepMIRLib.results import Detection, ModelSummary
    from DeepMIRLib.review.app import LEAST_SURE_FIRST, ReviewApp
    from DeepMIRLib.review.server import use_headless_rendering

    use_headless_rendering()
    app = ReviewApp(load_worklist(cohort), tmp_path / "store", server=get_server("order-test", client_type="vue3"))
    app.open_case(0)
    swi = scene.volume_from_node(app.session.swi_node)
    labels = np.zeros(swi.shape, np.uint8)
    labels[8, 100, 100], labels[8, 120, 100], labels[8, 140, 100], labels[8, 160, 100] = CMB, CMB, IRON, CMB
    labels = swi.with_array(labels)
    second_stage = np.full(swi.shape, np.nan, np.float32)
    second_stage[8, 100, 100], second_stage[8, 140, 100], second_stage[8, 160, 100] = 0.9995, 0.97, 0.93
    lesions = find_lesions(labels, second_stage_probability=second_stage)  # microbleeds at y 100, 120, 160, then the deposit
    app.session._show_detection(Detection("sim-41-0000", labels, {}, lesions, ModelSummary("m", "0", "", "multiclass", ("swi",))))
    app._refresh_lesion_rows()
    assert [row["second_stage_prob"] for row in app.state.lesions] == ["1.00", "", "0.93", "0.97"]

    app.state.lesion_order = LEAST_SURE_FIRST
    app._refresh_lesion_rows()
    assert [row["index"] for row in app.state.lesions] == [2, 3, 0, 1]  # 0.93, 0.97, 0.9995, then none
    app.next_lesion()
    assert app.state.selected == 2
    app.next_lesion()
    app.next_lesion(-1)
    app.next_lesion(-1)
    assert app.state.selected == 1  # back past the first row to the last
    app.next_lesion()
    app.delete_selected()  # the table's first row: the least sure microbleed
    assert app.state.error == "" and sorted(lesion.voxels for lesion in app.session.lesions) == [1, 1, 1]
    assert {tuple(round(v) for v in lesion.centroid_index) for lesion in app.session.lesions} == {(100, 100, 8), (100, 120, 8), (100, 140, 8)}
