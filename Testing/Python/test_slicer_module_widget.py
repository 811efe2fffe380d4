"""The Slicer module's widget and logic handlers (DeepMIR/DeepMIR.py) on the slicer-core wheel.

DeepMIR.py is imported with stand-ins for what only the Slicer application has (qt, the
scripted-module base classes, the parameter node wrapper, the Segment Editor widget, which
are recorded MagicMocks restricted to the .ui's widget names); the MRML scene, its nodes and
DeepMIRLib are real. This shows what the handlers do (which editor calls, which timers, which
files remain), not how Qt draws it; whether the Slicer APIs they call exist in Slicer 5.6 is
test_slicer_api's business.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import types
import unittest
from pathlib import Path
from types import SimpleNamespace
from unittest import mock
from xml.etree import ElementTree

import numpy as np
import pytest
import vtk

slicer = pytest.importorskip("slicer", reason="the module's handlers are run on the slicer-core wheel (pip install slicer-core)")

from DeepMIRLib import dependencies
from DeepMIRLib import scene as deepmir_scene
from DeepMIRLib.classes import CMB, IRON
from DeepMIRLib.lesions import find_lesions
from DeepMIRLib.results import LABELS_FILE, ModelSummary
from DeepMIRLib.volumes import Volume, write_volume

ROOT = Path(__file__).resolve().parents[2]
MODULE_FILE = ROOT / "DeepMIR" / "DeepMIR.py"
UI_FILE = ROOT / "DeepMIR" / "Resources" / "UI" / "DeepMIR.ui"


class FakeTimer:
    def __init__(self):
        self.active = False
        self.timeout = mock.MagicMock()

    def setInterval(self, msec):
        pass

    def setSingleShot(self, single):
        pass

    def start(self):
        self.active = True

    def stop(self):
        self.active = False


def fake_parameter_node_wrapper(cls):
    """parameterNodeWrapper's stand-in: fields with their defaults, observable like the real one."""
    defaults = {name: getattr(cls, name, None) for name in cls.__annotations__}

    class ParameterNode:
        def __init__(self, node=None):
            self.__dict__["_object"] = vtk.vtkObject()
            self.__dict__.update(defaults)

        def __setattr__(self, name, value):
            self.__dict__[name] = value
            self._object.Modified()

        def AddObserver(self, event, method, priority=0.0):
            return self._object.AddObserver(event, method, priority)

        def RemoveObserver(self, tag):
            self._object.RemoveObserver(tag)

        def connectGui(self, ui):
            return "gui-tag"

        def disconnectGui(self, tag):
            pass

    return ParameterNode


class ScriptedLoadableModuleWidget:
    def __init__(self, parent=None):
        self.parent = parent or SimpleNamespace(isEntered=True)
        self.layout = mock.MagicMock()

    def setup(self):
        pass

    def resourcePath(self, filename):
        return str(MODULE_FILE.parent / "Resources" / filename)


class ScriptedLoadableModuleLogic:
    def getParameterNode(self):
        return None


class ScriptedLoadableModuleTest(unittest.TestCase):
    def delayDisplay(self, message, msec=None):
        self.displayed = [*getattr(self, "displayed", []), message]


def ui_widget_names() -> list[str]:
    return [w.get("name") for w in ElementTree.parse(UI_FILE).getroot().iter("widget")]


@pytest.fixture()
def deepmir(monkeypatch, tmp_path):
    """DeepMIR.py imported with the stand-ins, on a fresh scene; returns the module."""
    qt = types.ModuleType("qt")
    qt.QTimer = FakeTimer
    qt.QTableWidgetItem = lambda text: text
    qt.QFileDialog = mock.MagicMock()
    qt.Qt = mock.MagicMock()
    stubs = {
        "qt": qt,
        "slicer.ScriptedLoadableModule": types.SimpleNamespace(
            ScriptedLoadableModule=object, ScriptedLoadableModuleWidget=ScriptedLoadableModuleWidget,
            ScriptedLoadableModuleLogic=ScriptedLoadableModuleLogic, ScriptedLoadableModuleTest=ScriptedLoadableModuleTest),
        "slicer.parameterNodeWrapper": types.SimpleNamespace(parameterNodeWrapper=fake_parameter_node_wrapper, Choice=lambda values: values,
                                                             WithinRange=lambda low, high: (low, high), Decimals=lambda places: places),
    }
    for name, stub in stubs.items():
        monkeypatch.setitem(sys.modules, name, stub)
    scene = deepmir_scene.new_scene()
    monkeypatch.setattr(slicer, "mrmlScene", scene, raising=False)
    monkeypatch.setattr(slicer, "app", mock.MagicMock(), raising=False)
    monkeypatch.setattr(slicer, "modules", SimpleNamespace(terminologies=SimpleNamespace(
        logic=lambda: deepmir_scene.module_logic(scene, "Terminologies"))), raising=False)
    monkeypatch.setattr(slicer, "qSlicerSegmentEditorEffectFactory", mock.MagicMock(), raising=False)
    temporary = tmp_path / "slicer-temp"
    temporary.mkdir()

    def temp_directory(key="__SlicerTemp__"):
        folder = temporary / f"{key}{len(list(temporary.iterdir()))}"
        folder.mkdir()
        return str(folder)

    monkeypatch.setattr(slicer.util, "tempDirectory", temp_directory, raising=False)
    monkeypatch.setattr(slicer.util, "getNodesByClass", lambda name: list(scene.GetNodesByClass(name)), raising=False)
    monkeypatch.setattr(slicer.util, "errorDisplay", mock.MagicMock(), raising=False)
    monkeypatch.setattr(slicer.util, "warningDisplay", mock.MagicMock(), raising=False)
    monkeypatch.setattr(slicer.util, "mainWindow", lambda: None, raising=False)
    spec = importlib.util.spec_from_file_location("DeepMIR_under_test", MODULE_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.temporary = temporary
    return module


@pytest.fixture()
def widget(deepmir, monkeypatch):
    """DeepMIRWidget after setup(), its .ui widgets recorded MagicMocks under one manager."""
    manager = mock.MagicMock()
    widgets = {name: getattr(manager, name) for name in ui_widget_names()}
    widgets["modelComboBox"].findData.return_value = 0
    monkeypatch.setattr(slicer.util, "loadUI", lambda path: manager.uiWidget, raising=False)
    monkeypatch.setattr(slicer.util, "childWidgetVariables", lambda ui: SimpleNamespace(**widgets), raising=False)
    instance = deepmir.DeepMIRWidget()
    instance.setup()
    instance.manager = manager
    return instance


def small_case(scene, transform=None):
    """An SWI node (12 x 16 x 20 voxels, oblique spacing) and a label map with one CMB and one
    iron lesion on its grid."""
    swi = Volume(np.random.default_rng(0).random((12, 16, 20)).astype(np.float32), (10.0, -5.0, 3.0), (1.0, 1.2, 2.0), tuple(np.eye(3).ravel()))
    node = deepmir_scene.node_from_volume(scene, swi, "swi")
    if transform is not None:
        node.SetAndObserveTransformNodeID(transform.GetID())
    labels = np.zeros(swi.array.shape, np.uint8)
    labels[4:6, 4:6, 4:6] = CMB
    labels[8:10, 10:13, 12:15] = IRON
    return node, deepmir_scene.volume_from_node(node).with_array(labels)


def test_setup_gives_the_editor_its_node_before_the_scene_and_deepmirs_default_terminology(widget):
    calls = [c[0] for c in widget.manager.mock_calls]
    assert calls.index("segmentEditorWidget.setMRMLSegmentEditorNode") < calls.index("uiWidget.setMRMLScene")
    editor = widget.ui.segmentEditorWidget
    editor.setMaximumNumberOfUndoStates.assert_called_once_with(10)
    assert editor.defaultTerminologyEntrySettingsKey == ""  # Slicer's shared setting is left alone
    assert editor.defaultTerminologyEntry == deepmir_scene.terminology_entry(CMB)
    slicer.qSlicerSegmentEditorEffectFactory.instance().connect.assert_called_with("effectRegistered(QString)", editor.updateEffectList)


def test_no_source_volume_is_given_to_the_editor_before_there_is_a_segmentation(widget):
    editor = widget.ui.segmentEditorWidget
    swi, _ = small_case(slicer.mrmlScene)
    widget._parameterNode.swiVolume = swi
    editor.setSourceVolumeNode.assert_not_called()
    segmentation = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLSegmentationNode")
    widget._parameterNode.outputSegmentation = segmentation
    editor.setSourceVolumeNode.assert_called_with(swi)
    assert editor.setSegmentationNode.call_args_list[-1] == mock.call(segmentation)


def test_a_hidden_panel_neither_paints_nor_follows_the_segmentation(widget):
    swi, labels = small_case(slicer.mrmlScene)
    segmentation, _ = deepmir_scene.show_result(slicer.mrmlScene, labels, [], swi)
    widget._parameterNode.swiVolume = swi
    widget._parameterNode.outputSegmentation = segmentation
    cmb_segment = segmentation.GetSegmentation().GetNthSegmentID(0)
    segmentation.GetSegmentation().GetSegment(cmb_segment).SetName("renamed")  # a SegmentModified event
    assert widget.tableRefreshTimer.active
    widget.exit()
    editor = widget.ui.segmentEditorWidget
    editor.removeViewObservations.assert_called()
    editor.setActiveEffect.assert_called_with(None)
    assert not widget.tableRefreshTimer.active
    segmentation.GetSegmentation().GetSegment(cmb_segment).SetName("painted elsewhere")
    assert not widget.tableRefreshTimer.active
    widget._parameterNode = None
    widget.enter()  # back: it follows the segmentation again
    widget._parameterNode.swiVolume, widget._parameterNode.outputSegmentation = swi, segmentation
    segmentation.GetSegmentation().GetSegment(cmb_segment).SetName("renamed again")
    assert widget.tableRefreshTimer.active


def test_a_segment_deepmir_cannot_classify_is_named_in_the_panel_not_raised_from_the_timer(widget):
    swi, labels = small_case(slicer.mrmlScene)
    segmentation, _ = deepmir_scene.show_result(slicer.mrmlScene, labels, [], swi)
    widget._parameterNode.swiVolume = swi
    widget._parameterNode.outputSegmentation = segmentation
    assert len(widget._lesionRows) == 2
    segmentation.GetSegmentation().AddEmptySegment("added", "Segment_1", (0.5, 0.7, 0.5))  # Add, without DeepMIR's terminology
    widget.refreshLesionTable()  # what the timer calls
    assert "Segment_1" in widget.ui.statusLabel.text and widget._lesionRows == []
    widget.ui.lesionTableWidget.setRowCount.assert_called_with(0)


def test_the_lesion_list_shows_the_least_sure_first_when_asked(deepmir, widget):
    swi, labels = small_case(slicer.mrmlScene)
    widget._parameterNode.swiVolume = swi
    folder = start_fake_run(deepmir, widget, FinishedProcess(), [])
    event = done_event(folder, labels)
    event["lesions"][0]["second_stage_prob"], event["lesions"][1]["second_stage_prob"] = 0.999, 0.95
    widget._runEvents.append(event)
    widget.ui.leastSureFirstCheckBox.checked = False
    widget.onPollWorker()
    assert [lesion.class_name for lesion in widget._lesionRows] == ["Cerebral microbleed", "Iron deposit"]
    widget.ui.leastSureFirstCheckBox.checked = True
    widget.refreshLesionTable()  # what the check box's toggled signal calls
    assert [lesion.second_stage_prob for lesion in widget._lesionRows] == [0.95, 0.999]
    widget.ui.lesionTableWidget.setItem.assert_any_call(0, 4, mock.ANY)


class FinishedProcess:
    def __init__(self, cancelled=False, returncode=0):
        self.cancelled, self.returncode = cancelled, returncode

    def finished(self):
        return True

    def poll(self):
        return []

    def cancel(self):
        self.cancelled = True


def done_event(folder: Path, labels: Volume) -> dict:
    """The 'done' event of a worker that found the lesions of `labels` (written to `folder`)."""
    write_volume(labels, folder / LABELS_FILE)
    lesions = find_lesions(labels, {CMB: (labels.array == CMB) * 0.9, IRON: (labels.array == IRON) * 0.8})
    model = ModelSummary("deepmir-test", "1.0", "0" * 64, "multiclass", ("swi",))
    return {"event": "done", "out": str(folder), "participant": "sub-01", "lesions": [lesion.row() for lesion in lesions],
            "model": model.to_dict(), "notes": []}


def start_fake_run(deepmir, widget, process, events):
    folder = Path(slicer.util.tempDirectory("DeepMIR-run-"))
    widget._worker, widget._runFolder, widget._runEvents, widget._runParameterNode = process, folder, events, widget._parameterNode
    return folder


def test_a_finished_run_is_shown_with_the_models_probabilities_and_its_folder_removed(deepmir, widget):
    transform = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "pose")
    swi, labels = small_case(slicer.mrmlScene, transform)
    widget._parameterNode.swiVolume = swi
    folder = start_fake_run(deepmir, widget, FinishedProcess(), [])
    widget._runEvents.append(done_event(folder, labels))
    widget.onPollWorker()
    assert not folder.exists() and widget._worker is None
    assert widget.ui.statusLabel.text == "2 lesions found by deepmir-test 1.0."
    segmentation = widget._parameterNode.outputSegmentation
    assert segmentation.GetTransformNodeID() == transform.GetID()  # on the SWI, under its transform
    assert [f"{lesion.prob_max:.1f}" for lesion in widget._lesionRows] == ["0.9", "0.8"]
    assert widget._parameterNode.lesionTable.GetTable().GetNumberOfRows() == 2


def test_the_status_says_when_the_echo_time_decided_the_minimum(deepmir, widget):
    """A note of the detection on the long-echo minimum (pipeline.long_echo_notes) is shown beside
    the count; the registration and mask notes only go to the log."""
    swi, labels = small_case(slicer.mrmlScene, None)
    widget._parameterNode.swiVolume = swi
    folder = start_fake_run(deepmir, widget, FinishedProcess(), [])
    echo_note = "SWI echo time not known: the second stage's minimum probability for echo times from 15 ms (cmb 0.6) was not applied"
    widget._runEvents.append({**done_event(folder, labels), "notes": ["brain mask computed from SWI (no brain mask given)", echo_note]})
    widget.onPollWorker()
    assert widget.ui.statusLabel.text == "2 lesions found by deepmir-test 1.0. " + echo_note


def test_closing_the_scene_during_a_run_while_another_module_is_shown(deepmir, widget):
    """The parameter node is gone when the run ends; the patient's images still go, and the
    closed case's model output is forgotten."""
    swi, labels = small_case(slicer.mrmlScene)
    widget._parameterNode.swiVolume = swi
    widget.logic.rememberResult(SimpleNamespace(labels=labels, lesions=[], model=None), swi, swi)
    folder = start_fake_run(deepmir, widget, FinishedProcess(), [])
    widget._runEvents.append(done_event(folder, labels))
    widget.exit()
    widget.onSceneStartClose(None, None)
    widget.onPollWorker()
    assert not folder.exists() and widget._worker is None
    assert widget.ui.statusLabel.text == "Cancelled."
    assert widget.logic.originalLabels is None and widget.logic.model is None

    folder = start_fake_run(deepmir, widget, FinishedProcess(), [])  # a run whose parameter node went another way
    widget._runEvents.append(done_event(folder, labels))
    widget._runParameterNode = None
    widget.onPollWorker()
    assert not folder.exists() and "scene was closed" in widget.ui.statusLabel.text


def test_export_records_the_models_output_only_for_the_segmentation_it_made(deepmir, tmp_path):
    logic = deepmir.DeepMIRLogic()
    swi, labels = small_case(slicer.mrmlScene)
    segmentation, _ = deepmir_scene.show_result(slicer.mrmlScene, labels, [], swi)
    parameterNode = deepmir.DeepMIRParameterNode()
    parameterNode.swiVolume, parameterNode.outputSegmentation, parameterNode.caseId = swi, segmentation, "sub-01"
    for unset in ("", "."):
        parameterNode.exportFolder = unset
        with pytest.raises(ValueError, match="training set folder"):
            logic.export(parameterNode)
    parameterNode.exportFolder = str(tmp_path / "store")
    model = ModelSummary("deepmir-test", "1.0", "0" * 64, "multiclass", ("swi",))
    logic.rememberResult(SimpleNamespace(labels=labels, lesions=[], model=model), swi, segmentation)
    assert logic.export(parameterNode).model["name"] == "deepmir-test"
    other, _ = deepmir_scene.show_result(slicer.mrmlScene, labels, [], swi)  # the reader picked another segmentation
    parameterNode.outputSegmentation, parameterNode.exportFolder = other, str(tmp_path / "another store")
    entry = logic.export(parameterNode)
    assert entry.model is None and entry.original is None


def test_the_worker_runs_with_pythonslicer_and_never_with_the_slicer_application(deepmir, monkeypatch, tmp_path):
    logic = deepmir.DeepMIRLogic()
    swi, _ = small_case(slicer.mrmlScene)
    parameterNode = deepmir.DeepMIRParameterNode()
    parameterNode.swiVolume = swi
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(RuntimeError, match="PythonSlicer executable not found"):
        logic.startDetection(parameterNode)
    assert not list(deepmir.temporary.iterdir())  # nothing written for a run that cannot start
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    python_slicer = bin_folder / "PythonSlicer"
    python_slicer.write_text("#!/bin/sh\nexit 3\n")
    python_slicer.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_folder))
    process, folder = logic.startDetection(parameterNode)
    assert process.command[0] == str(python_slicer) and Path(folder).parent == deepmir.temporary
    assert "--swi-echo-time" not in process.command  # the field's 0: not given
    assert process.wait(timeout=30) == 3
    assert (Path(folder) / "swi.nii.gz").is_file()
    parameterNode.swiEchoTimeMs = 20.0
    process, _ = logic.startDetection(parameterNode)
    assert process.command[process.command.index("--swi-echo-time") + 1] == "20.0"
    process.wait(timeout=30)


def test_the_self_test_skips_without_installing_when_packages_are_missing(deepmir, monkeypatch):
    plan = dependencies.InstallPlan(torch="torch>=2.1")
    monkeypatch.setattr(deepmir.dependencies, "slicer_install_plan", lambda: plan)
    test = deepmir.DeepMIRTest()
    monkeypatch.setattr(test, "setUp", lambda: None)
    with mock.patch.object(deepmir.DeepMIRLogic, "ensureDependencies") as install, mock.patch.object(test, "test_read_edit_export") as body:
        test.runTest()
    install.assert_not_called()
    body.assert_not_called()
    assert "skipped" in test.displayed[-1]


def test_worker_command_names_the_python_it_is_given():
    from DeepMIRLib import worker

    command = worker.worker_command("swi.nii.gz", "out", python="/opt/Slicer/bin/PythonSlicer")
    assert command[:3] == ["/opt/Slicer/bin/PythonSlicer", "-m", "DeepMIRLib.worker"]
    assert json.dumps(command)  # plain strings only
