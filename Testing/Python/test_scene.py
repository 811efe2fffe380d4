"""The scene layer against the real slicer-core wheel (MRML, segmentations, volumes logic; no Qt):
simulated participants loaded through MRML storage nodes, detection into segments, the
reader's edits, and export into the training set read back with SimpleITK."""

from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk
import vtk

slicer = pytest.importorskip("slicer", reason="the scene layer is tested on the slicer-core wheel (pip install slicer-core)")

from DeepMIRLib import scene as deepmir_scene
from DeepMIRLib.errors import Cancelled, InputError
from DeepMIRLib.lesions import find_lesions, label_components
from DeepMIRLib.volumes import Volume, read_volume


@pytest.fixture(scope="module")
def heavy_participant(slab_cohort):
    """The simulated participant with the most microbleeds."""
    folders = sorted(p for p in slab_cohort.iterdir() if p.is_dir())
    return max(folders, key=lambda p: label_components(read_volume(p / "labels.nii.gz").array == 1)[1])


@pytest.fixture()
def loaded(heavy_participant):
    scene = deepmir_scene.new_scene()
    nodes = {m: deepmir_scene.load_volume(scene, heavy_participant / f"{m}.nii.gz", m) for m in ("swi", "qsm", "t2")}
    return scene, nodes


def _assert_same_geometry(a, b):
    assert a.array.shape == b.array.shape
    np.testing.assert_allclose(a.origin, b.origin, atol=1e-5)
    np.testing.assert_allclose(a.spacing, b.spacing, atol=1e-6)
    np.testing.assert_allclose(a.direction, b.direction, atol=1e-6)


def test_volumes_through_storage_nodes_keep_exact_geometry(loaded, heavy_participant):
    scene, nodes = loaded
    swi = read_volume(heavy_participant / "swi.nii.gz")
    from_node = deepmir_scene.volume_from_node(nodes["swi"])
    _assert_same_geometry(from_node, swi)
    np.testing.assert_array_equal(from_node.array, swi.array)
    # an oblique, anisotropic volume into a node and back
    angle = np.deg2rad(17)
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    oblique = swi.__class__(swi.array, (12.5, -3.0, 40.0), (0.9, 1.1, 2.5), tuple(rotation.ravel()))
    back = deepmir_scene.volume_from_node(deepmir_scene.node_from_volume(scene, oblique, "oblique"))
    _assert_same_geometry(back, oblique)
    np.testing.assert_array_equal(back.array, oblique.array)


def test_run_detection_makes_red_and_green_segments_equal_to_the_prediction(loaded):
    scene, nodes = loaded
    with pytest.raises(Cancelled):
        deepmir_scene.run_detection(scene, nodes, "default", "cpu", cancel=lambda: True)
    assert scene.GetNodesByClass("vtkMRMLSegmentationNode").GetNumberOfItems() == 0
    steps = []
    result = deepmir_scene.run_detection(scene, nodes, "default", "cpu", progress=lambda done, total: steps.append((done, total)))
    assert steps and steps[-1][0] == steps[-1][1]
    segmentation = result.segmentation_node.GetSegmentation()
    segments = [segmentation.GetSegment(segmentation.GetNthSegmentID(i)) for i in range(segmentation.GetNumberOfSegments())]
    assert [s.GetName() for s in segments] == ["Cerebral microbleed", "Iron deposit"]
    assert [tuple(round(c, 3) for c in s.GetColor()) for s in segments] == [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0)]
    assert [deepmir_scene.segment_terminology(s) for s in segments] == [deepmir_scene.terminology_entry(1), deepmir_scene.terminology_entry(2)]
    edited = deepmir_scene.labels_from_segmentation(result.segmentation_node, nodes["swi"])
    np.testing.assert_array_equal(edited.array, result.detection.labels.array)
    assert result.table_node.GetTable().GetNumberOfRows() == len(result.detection.lesions)
    # the default's classifiers decide both classes: every lesion carries the second stage's probability, and the table shows it
    second_stage = [lesion.second_stage_prob for lesion in result.detection.lesions]
    assert second_stage and all(0 < p <= 1 for p in second_stage)
    column = result.table_node.GetTable().GetColumnByName("second_stage_probability")
    assert [column.GetValue(i) for i in range(column.GetNumberOfValues())] == pytest.approx(second_stage)
    assert len(deepmir_scene.lesion_rows(result.segmentation_node, nodes["swi"])) == len(result.detection.lesions)
    _assert_refreshes_and_edits_add_no_nodes(scene, result, nodes["swi"])


def _node_counts(scene) -> dict[str, int]:
    counts = {}
    for index in range(scene.GetNumberOfNodes()):
        name = scene.GetNthNode(index).GetClassName()
        counts[name] = counts.get(name, 0) + 1
    return counts


def _assert_refreshes_and_edits_add_no_nodes(scene, result, swi, times=3):
    """The module refreshes the lesion table after every painting pause and every edit: the
    scene must hold no more nodes (no colour tables, display or labelmap nodes left behind)
    after a run, N table refreshes and N edits than after the run alone."""
    after_run = _node_counts(scene)
    lesions = result.detection.lesions
    for _ in range(times):
        rows, table = deepmir_scene.refresh_lesion_table(scene, result.segmentation_node, swi, result.table_node, lesions)
        assert table is result.table_node and len(rows) == len(lesions)
        assert [row.prob_max for row in rows] == [lesion.prob_max for lesion in lesions]  # unedited: the model's
        assert [row.second_stage_prob for row in rows] == [lesion.second_stage_prob for lesion in lesions]
    for _ in range(times):
        assert deepmir_scene.switch_lesion_class_at(result.segmentation_node, swi, lesions[0].centroid_ras)
        assert deepmir_scene.switch_lesion_class_at(result.segmentation_node, swi, lesions[0].centroid_ras)
    edited, _ = deepmir_scene.refresh_lesion_table(scene, result.segmentation_node, swi, result.table_node, lesions)
    assert [row.voxels for row in edited] == [lesion.voxels for lesion in lesions]
    assert _node_counts(scene) == after_run


def test_terminology_context_loads_in_slicers_terminologies_logic():
    """The .term.json is read by Slicer's own Terminologies logic, and the entries the
    segments carry resolve in it to DeepMIR's types with their red and green."""
    logic = deepmir_scene.module_logic(deepmir_scene.new_scene(), "Terminologies")
    names = vtk.vtkStringArray()
    logic.GetLoadedTerminologyNames(names)
    assert [names.GetValue(i) for i in range(names.GetNumberOfValues())] == ["DeepMIR lesions"]
    for label, rgb in ((1, (255, 0, 0)), (2, (0, 255, 0))):
        entry = slicer.vtkSlicerTerminologyEntry()
        assert logic.DeserializeTerminologyEntry(deepmir_scene.terminology_entry(label), entry)
        assert logic.UpdateEntryFromLoadedTerminologies(entry, [], [])
        assert entry.GetTypeObject().GetSlicerLabel() == deepmir_scene.SEGMENT_NAMES[label]
        assert tuple(entry.GetTypeObject().GetRecommendedDisplayRGBValue()) == rgb
        assert logic.SerializeTerminologyEntry(entry).split("~")[:3] == deepmir_scene.terminology_entry(label).split("~")[:3]


def _paint_sphere(segmentation_node, segment_id, reference_node, centre_zyx, radius=1.5, margin=3):
    """The Segment Editor's Paint effect: a small sphere, in a modifier labelmap cropped to a
    box around it (its own origin and extent), added to a segment by Slicer's segment editor
    logic with "allow overlap". Returns the painted voxels on the reference grid."""
    reference = deepmir_scene.volume_from_node(reference_node)
    z, y, x = np.indices(reference.array.shape)
    sphere = (z - centre_zyx[0]) ** 2 + (y - centre_zyx[1]) ** 2 + (x - centre_zyx[2]) ** 2 <= radius**2
    low = np.maximum(np.asarray(centre_zyx) - margin, 0)
    high = np.asarray(centre_zyx) + margin + 1
    box = sphere[low[0]:high[0], low[1]:high[1], low[2]:high[2]].astype(np.uint8)
    scene = segmentation_node.GetScene()
    modifier = deepmir_scene.node_from_volume(
        scene, Volume(box, tuple(reference.index_to_lps(low[::-1])), reference.spacing, reference.direction), "paint", labelmap=True)
    editor_node = scene.AddNewNodeByClass("vtkMRMLSegmentEditorNode")
    editor_node.SetOverwriteMode(editor_node.OverwriteNone)
    editor = slicer.vtkSlicerSegmentEditorLogic()
    editor.SetMRMLScene(scene)
    editor.SetSegmentEditorNode(editor_node)
    editor.SetSegmentationNode(segmentation_node)
    editor.SetSourceVolumeNode(reference_node)
    labelmap = slicer.vtkSlicerSegmentationsModuleLogic.CreateOrientedImageDataFromVolumeNode(modifier)
    labelmap.UnRegister(None)  # the caller owns the new image, as in Slicer's own effects
    editor.ModifySegmentByLabelmap(segmentation_node, segment_id, labelmap, editor.ModificationModeAdd, False, False)
    scene.RemoveNode(modifier)
    scene.RemoveNode(editor_node)
    return sphere


def test_reader_edits_exported_to_the_datastore(loaded, heavy_participant, tmp_path):
    scene, nodes = loaded
    swi = nodes["swi"]
    original = read_volume(heavy_participant / "labels.nii.gz")
    original = original.with_array(np.where(np.isin(original.array, (1, 2)), original.array, 0).astype(np.uint8))
    segmentation_node, _ = deepmir_scene.show_result(scene, original, [], swi)
    rows = deepmir_scene.lesion_rows(segmentation_node, swi)
    cmb_rows = [r for r in rows if r.label == 1]
    assert len(cmb_rows) >= 3
    expected = original.array.copy()
    components = {1: label_components(original.array == 1)[0]}

    def component_of(row):
        i, j, k = (round(v) for v in row.centroid_index)  # microbleeds are round: the centroid is inside
        return components[1] == components[1][k, j, i]

    # erase one microbleed, relabel another as iron, paint a new one far from the rest
    assert deepmir_scene.delete_lesion_at(segmentation_node, swi, cmb_rows[0].centroid_ras)
    expected[component_of(cmb_rows[0])] = 0
    assert deepmir_scene.switch_lesion_class_at(segmentation_node, swi, cmb_rows[1].centroid_ras)
    expected[component_of(cmb_rows[1])] = 2
    free = np.argwhere((read_volume(heavy_participant / "brainmask.nii.gz").array > 0) & (label_components(original.array > 0)[0] == 0))
    distances = np.min(np.linalg.norm(free[:, None, :] - np.argwhere(original.array > 0)[None, ::25, :], axis=2), axis=1)
    centre = free[np.argmax(distances)]
    cmb_segment = segmentation_node.GetSegmentation().GetNthSegmentID(0)
    painted = _paint_sphere(segmentation_node, cmb_segment, swi, centre)
    expected[painted] = 1
    np.testing.assert_array_equal(deepmir_scene.labels_from_segmentation(segmentation_node, swi).array, expected)

    store = tmp_path / "store"
    from DeepMIRLib.modelfile import load_model

    card = load_model("default").card
    entry = deepmir_scene.export_to_datastore(store, "sub-01", "reader A", nodes, segmentation_node, original, card.summary())
    assert entry.model == {"name": card.name, "version": card.version, "sha256": card.weights_sha256}
    final = sitk.ReadImage(str(store / "labels" / "final" / "sub-01.nii.gz"))
    reference = sitk.ReadImage(str(heavy_participant / "swi.nii.gz"))
    assert final.GetSize() == reference.GetSize()
    np.testing.assert_allclose(final.GetOrigin(), reference.GetOrigin(), atol=1e-5)
    np.testing.assert_allclose(final.GetSpacing(), reference.GetSpacing(), atol=1e-6)
    np.testing.assert_allclose(final.GetDirection(), reference.GetDirection(), atol=1e-6)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(final), expected)
    index = json.loads((store / "datastore.json").read_text())
    assert entry.annotator == "reader A" and entry.version == 1
    assert entry.changes["counts"]["deleted"] == 1 and entry.changes["counts"]["relabelled"] == 1
    assert entry.changes["counts"]["added"] == 1
    assert index["cases"]["sub-01"] == [entry.to_dict()]
    assert entry.annotator and entry.time and entry.final.file and entry.original.file
    # a second export keeps the first
    deepmir_scene.delete_lesion_at(segmentation_node, swi, cmb_rows[2].centroid_ras)
    second = deepmir_scene.export_to_datastore(store, "sub-01", "reader B", nodes, segmentation_node, original)
    assert second.version == 2
    from DeepMIRLib.datastore import Datastore

    versions = Datastore(store).entries("sub-01")
    assert [v.annotator for v in versions] == ["reader A", "reader B"]
    first_final = Datastore(store).final_labels_path("sub-01", version=1)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(sitk.ReadImage(str(first_final))), expected)


def test_segment_rules_renamed_extra_and_overlapping(loaded, heavy_participant):
    scene, nodes = loaded
    swi = nodes["swi"]
    original = read_volume(heavy_participant / "labels.nii.gz")
    original = original.with_array(np.where(np.isin(original.array, (1, 2)), original.array, 0).astype(np.uint8))
    segmentation_node, _ = deepmir_scene.show_result(scene, original, [], swi)
    segmentation = segmentation_node.GetSegmentation()
    cmb_id, iron_id = segmentation.GetNthSegmentID(0), segmentation.GetNthSegmentID(1)
    segmentation.GetSegment(cmb_id).SetName("Segment A")  # renamed: the terminology still says CMB
    np.testing.assert_array_equal(deepmir_scene.labels_from_segmentation(segmentation_node, swi).array, original.array)
    deepmir_scene.set_segment_terminology(segmentation.GetSegment(cmb_id), "")  # and without terminology: still DeepMIR's red
    np.testing.assert_array_equal(deepmir_scene.labels_from_segmentation(segmentation_node, swi).array, original.array)
    deepmir_scene.set_segment_terminology(segmentation.GetSegment(iron_id), deepmir_scene.terminology_entry(1))  # the reader re-typed iron as CMB
    np.testing.assert_array_equal(deepmir_scene.labels_from_segmentation(segmentation_node, swi).array, (original.array > 0).astype(np.uint8))
    deepmir_scene.set_segment_terminology(segmentation.GetSegment(iron_id), deepmir_scene.terminology_entry(2))
    # an iron voxel painted into the CMB segment too (segments that overlap live in separate
    # labelmap layers; with one shared layer the paint would overwrite the iron): CMB wins
    iron_voxel = np.argwhere(original.array == 2)[0]
    segmentation.SeparateSegmentLabelmap(cmb_id)
    painted = _paint_sphere(segmentation_node, cmb_id, swi, iron_voxel, radius=0.5)
    labels = deepmir_scene.labels_from_segmentation(segmentation_node, swi).array
    assert labels[tuple(iron_voxel)] == 1 and painted.sum() == 1
    # a segment the reader added without a class name is refused, naming it
    segmentation.AddEmptySegment("extra", "Segment_1", (0.5, 0.68, 0.5))
    _paint_sphere(segmentation_node, "extra", swi, np.argwhere(original.array == 0)[0], radius=0.5)
    with pytest.raises(InputError, match="Segment_1"):
        deepmir_scene.labels_from_segmentation(segmentation_node, swi)
    segmentation.GetSegment("extra").SetName("possible microbleed")  # named so: counted as CMB
    assert deepmir_scene.labels_from_segmentation(segmentation_node, swi).array[tuple(np.argwhere(original.array == 0)[0])] == 1
    segmentation.GetSegment("extra").SetName("Segment_1")
    segmentation.GetSegment("extra").SetColor(0.0, 1.0, 0.0)  # coloured DeepMIR's green: iron
    assert deepmir_scene.labels_from_segmentation(segmentation_node, swi).array[tuple(np.argwhere(original.array == 0)[0])] == 2
    # a deleted segment means no lesions of its class
    segmentation.RemoveSegment("extra")
    segmentation.RemoveSegment(iron_id)
    assert not (deepmir_scene.labels_from_segmentation(segmentation_node, swi).array == 2).any()



def test_an_edit_merges_several_extra_segments_of_a_class_into_its_segment(loaded, heavy_participant):
    scene, nodes = loaded
    swi = nodes["swi"]
    original = read_volume(heavy_participant / "labels.nii.gz")
    original = original.with_array(np.where(np.isin(original.array, (1, 2)), original.array, 0).astype(np.uint8))
    segmentation_node, _ = deepmir_scene.show_result(scene, original, [], swi)
    segmentation = segmentation_node.GetSegmentation()
    background = np.argwhere(original.array == 0)
    for name, voxel in (("possible microbleed", background[0]), ("another microbleed", background[-1])):
        segmentation.AddEmptySegment(name, name, (0.5, 0.68, 0.5))
        _paint_sphere(segmentation_node, name, swi, voxel, radius=0.5)
    before = deepmir_scene.labels_from_segmentation(segmentation_node, swi).array
    assert before[tuple(background[0])] == 1 and before[tuple(background[-1])] == 1
    rows = deepmir_scene.lesion_rows(segmentation_node, swi)
    iron = next(row for row in rows if row.label == 2)
    assert deepmir_scene.delete_lesion_at(segmentation_node, swi, iron.centroid_ras)
    assert segmentation.GetNumberOfSegments() == 2  # both extra CMB segments merged into the CMB one
    after = deepmir_scene.labels_from_segmentation(segmentation_node, swi).array
    assert after[tuple(background[0])] == 1 and after[tuple(background[-1])] == 1
    assert (after == 2).sum() == (before == 2).sum() - iron.voxels and (after == 1).sum() == (before == 1).sum()

def _linear_transform(scene, name, angle_degrees=0.0, shift=(0.0, 0.0, 0.0)):
    """A linear transform node: rotation about S, then a shift (RAS mm)."""
    transform = vtk.vtkTransform()
    transform.Translate(*shift)
    transform.RotateZ(angle_degrees)
    node = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", name)
    node.SetMatrixTransformToParent(transform.GetMatrix())
    return node


def test_volumes_leave_in_world_coordinates_and_results_follow_the_swi_transform(loaded, heavy_participant):
    """An SWI under a linear transform: its volume is in world coordinates, the segmentation
    is put under the same transform, and labels, lesions and edits stay on the SWI's voxels;
    a segmentation moved by the reader is resampled back onto the SWI grid."""
    scene, nodes = loaded
    swi = nodes["swi"]
    local = deepmir_scene.volume_from_node(swi)
    transform = _linear_transform(scene, "pose", angle_degrees=20.0, shift=(5.0, -7.0, 3.0))
    swi.SetAndObserveTransformNodeID(transform.GetID())
    world = deepmir_scene.volume_from_node(swi)
    matrix = vtk.vtkMatrix4x4()
    transform.GetMatrixTransformToWorld(matrix)
    to_world = np.array([[matrix.GetElement(r, c) for c in range(4)] for r in range(4)])
    corner_ras = to_world @ np.array([-local.origin[0], -local.origin[1], local.origin[2], 1.0])
    np.testing.assert_allclose(world.origin, (-corner_ras[0], -corner_ras[1], corner_ras[2]), atol=1e-4)
    np.testing.assert_allclose(world.spacing, local.spacing, atol=1e-6)
    np.testing.assert_array_equal(world.array, local.array)

    original = read_volume(heavy_participant / "labels.nii.gz")
    original = original.with_array(np.where(np.isin(original.array, (1, 2)), original.array, 0).astype(np.uint8))
    segmentation_node, _ = deepmir_scene.show_result(scene, original, [], swi)
    assert segmentation_node.GetTransformNodeID() == transform.GetID()
    labels = deepmir_scene.labels_from_segmentation(segmentation_node, swi)
    np.testing.assert_array_equal(labels.array, original.array)
    _assert_same_geometry(labels, world)
    rows = deepmir_scene.lesion_rows(segmentation_node, swi)
    expected = find_lesions(world.with_array(original.array))
    np.testing.assert_allclose([r.centroid_ras for r in rows], [e.centroid_ras for e in expected], atol=1e-4)
    assert deepmir_scene.delete_lesion_at(segmentation_node, swi, rows[0].centroid_ras)  # world RAS, as the table shows
    assert len(deepmir_scene.lesion_rows(segmentation_node, swi)) == len(rows) - 1

    # the reader moves the segmentation one voxel along the SWI's first axis: it is resampled
    segmentation_node, _ = deepmir_scene.show_result(scene, original, [], swi, segmentation_node)
    column = to_world[:3, :3] @ np.diag([-1.0, -1.0, 1.0]) @ np.asarray(local.direction).reshape(3, 3)[:, 0] * local.spacing[0]
    nudge = _linear_transform(scene, "nudge", shift=tuple(column))
    nudge.SetAndObserveTransformNodeID(transform.GetID())
    segmentation_node.SetAndObserveTransformNodeID(nudge.GetID())
    moved = deepmir_scene.labels_from_segmentation(segmentation_node, swi).array
    shifted = np.zeros_like(original.array)
    shifted[:, :, 1:] = original.array[:, :, :-1]
    np.testing.assert_array_equal(moved, shifted)
    # and an edit writes back through the two transforms
    assert deepmir_scene.switch_lesion_class_at(segmentation_node, swi, deepmir_scene.lesion_rows(segmentation_node, swi)[0].centroid_ras)
    assert (deepmir_scene.labels_from_segmentation(segmentation_node, swi).array > 0).sum() == (shifted > 0).sum()


def test_volumes_under_a_non_linear_transform_are_refused(loaded):
    scene, nodes = loaded
    source, target = vtk.vtkPoints(), vtk.vtkPoints()
    for point in ((0, 0, 0), (50, 0, 0), (0, 50, 0), (0, 0, 50), (30, 30, 30)):
        source.InsertNextPoint(point)
        target.InsertNextPoint(point[0] + (3 if point == (30, 30, 30) else 0), point[1], point[2])
    warp = vtk.vtkThinPlateSplineTransform()
    warp.SetSourceLandmarks(source)
    warp.SetTargetLandmarks(target)
    node = scene.AddNewNodeByClass("vtkMRMLTransformNode", "warp")
    node.SetAndObserveTransformToParent(warp)
    nodes["qsm"].SetAndObserveTransformNodeID(node.GetID())
    with pytest.raises(InputError, match="non-linear transform 'warp': harden"):
        deepmir_scene.volume_from_node(nodes["qsm"])


def test_centre_views_on_moves_slice_nodes(loaded):
    scene, _ = loaded
    red = scene.AddNewNodeByClass("vtkMRMLSliceNode", "Red")
    red.SetLayoutName("Red")
    red.SetOrientationToAxial()
    deepmir_scene.centre_views_on(scene, (10.0, -20.0, 30.0))
    assert abs(red.GetSliceOffset() - 30.0) < 1e-6


def test_background_worker_result_shown_and_exported(loaded, heavy_participant, tmp_path):
    """The module's Run path: the worker process writes the prediction, the scene shows it,
    and the export records the worker's model summary."""
    import subprocess
    import sys

    from DeepMIRLib import worker

    scene, nodes = loaded
    out = tmp_path / "result"
    command = worker.worker_command(heavy_participant / "swi.nii.gz", out, "default", "cpu",
                                    qsm=heavy_participant / "qsm.nii.gz", t2=heavy_participant / "t2.nii.gz", python=sys.executable)
    run = subprocess.run(command, check=False, capture_output=True, text=True)
    done = worker.parse_event(run.stdout.splitlines()[-1])
    assert run.returncode == 0 and done["event"] == "done", run.stderr
    result = worker.read_result(done)
    segmentation_node, table_node = deepmir_scene.show_result(scene, result.labels, result.lesions, nodes["swi"])
    np.testing.assert_array_equal(deepmir_scene.labels_from_segmentation(segmentation_node, nodes["swi"]).array, result.labels.array)
    assert table_node.GetTable().GetNumberOfRows() == len(result.lesions)
    entry = deepmir_scene.export_to_datastore(tmp_path / "store", "sub-02", "reader", nodes, segmentation_node, result.labels, result.model)
    assert entry.model["name"] == "deepmir-multiclass-sim" and entry.model["sha256"] == result.model.sha256
    assert entry.changes["counts"]["deleted"] == entry.changes["counts"]["added"] == 0
