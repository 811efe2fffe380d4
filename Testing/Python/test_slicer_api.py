"""The guard: DeepMIR/DeepMIR.py and DeepMIRLib/scene.py use only Slicer APIs that every
supported release has.

Testing/SlicerAPI/slicer-<tag>.json records, from Slicer's own sources at the oldest supported
release (v5.6.0) and the newest (v5.10.0), the members of the Slicer classes these files use
(MRML, vtkSegmentationCore, module logics, Slicer widgets), slicer.util, ScriptedLoadableModule
and parameterNodeWrapper (Testing/SlicerAPI/record.py made them; a green test on the slicer-core
5.11 wheel proves nothing about 5.6). Two checks:
- static: every Slicer name the two files and the .ui spell (slicer.X, slicer.X.Y, slicer.util.f,
  imports from slicer, self.ui.<widget>.<member> by the widget's class in the .ui, properties
  the .ui sets, and any VTK-style CamelCase method) is recorded for both releases;
- at run time: the scene layer's and the module logic's VTK/MRML calls are traced with their
  receivers' classes while they run on slicer-core, and each (class, method) must exist at both
  releases in that class or a recorded base class.
Names of plain VTK, Qt and CTK are not Slicer's and are listed below, so that a new one is a
deliberate decision. When the code needs a class that is not recorded, add it to CLASSES in
record.py and record again (the command is in its docstring).
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest
import vtk

ROOT = Path(__file__).resolve().parents[2]
MODULE_FILE = ROOT / "DeepMIR" / "DeepMIR.py"
SCENE_FILE = ROOT / "DeepMIRLib" / "scene.py"
UI_FILE = ROOT / "DeepMIR" / "Resources" / "UI" / "DeepMIR.ui"
RECORDS = {path.stem: json.loads(path.read_text()) for path in sorted((ROOT / "Testing" / "SlicerAPI").glob("slicer-v*.json"))}

# Plain VTK (Slicer 5.6 builds VTK 9.2, 5.10 VTK 9.4): classes and methods of VTK itself, all of
# them VTK API for many releases before 9.2. Not checked against a record.
PLAIN_VTK = {
    "vtkMatrix4x4", "vtkImageData", "vtkStringArray", "vtkIntArray", "vtkDoubleArray", "vtkVariant", "vtkGeneralTransform",
    "vtkCommand", "ModifiedEvent", "vtk_to_numpy", "numpy_to_vtk", "reference",
    "GetElement", "SetElement", "GetDimensions", "SetDimensions", "GetPointData", "GetScalars", "SetScalars", "GetExtent",
    "InsertNextValue", "SetName", "GetName", "AddColumn", "Initialize", "InsertNextBlankRow", "SetValue", "GetNumberOfRows",
    "UnRegister", "Modified", "IsA", "GetClassName", "AddObserver", "RemoveObserver", "SafeDownCast", "GetMTime",
    "GetNumberOfTuples", "GetNumberOfComponents", "GetDataType", "GetScalarType", "AllocateScalars", "SetOrigin", "SetSpacing",
    "GetOrigin", "GetSpacing", "DeepCopy", "ShallowCopy", "GetNumberOfPoints", "GetVoidPointer", "SetVoidArray",
    "SetNumberOfComponents", "SetNumberOfTuples", "GetNumberOfValues", "GetValue", "GetColumn", "GetRow", "Invert",
    "Identity", "Multiply4x4", "MultiplyPoint", "Update", "GetTable", "SetNumberOfValues", "SetTuple",
}
# Qt 5 (every supported Slicer) and CTK members the module uses on Qt widgets, the application,
# QObject signals and the .ui's Qt/CTK properties.
QT = {
    # QWidget / QAbstractButton / QLabel / QLineEdit / QProgressBar
    "enabled", "toolTip", "text", "value", "clicked", "setEnabled", "geometry", "wordWrap", "maximum", "placeholderText",
    "sizeHint", "orientation", "editTriggers", "selectionMode", "selectionBehavior", "sortingEnabled",
    # QCheckBox (QAbstractButton's checked property and toggled signal)
    "checked", "toggled",
    # QComboBox
    "clear", "addItem", "findData", "insertItem", "count", "setCurrentIndex", "itemData", "activated",
    # QDoubleSpinBox (suffix; specialValueText from QAbstractSpinBox: Qt 4 on)
    "suffix", "specialValueText",
    # QTableWidget
    "setColumnCount", "setHorizontalHeaderLabels", "horizontalHeader", "setStretchLastSection", "setRowCount", "setItem",
    "selectionModel", "selectedRows", "row", "itemSelectionChanged",
    # QTimer, QObject, QFileDialog, QApplication
    "setInterval", "setSingleShot", "timeout", "start", "stop", "connect", "disconnect", "getOpenFileName", "getExistingDirectory",
    "processEvents", "QTimer", "QTableWidgetItem", "QFileDialog",
    # CTK (ctkCollapsibleButton, ctkMenuButton)
    "collapsed",
    # qMRMLNodeComboBox properties (qMRMLNodeComboBox.h declares them; the record has them too)
}
# DeepMIRLib's own modules and other non-Slicer roots whose attributes are not Slicer's
NOT_SLICER_ROOTS = {"np", "json", "functools", "shutil", "sys", "logging", "math", "tempfile", "Path", "dependencies", "registry",
                    "worker", "scene", "deepmir_scene", "PyTorchUtils", "unittest", "Annotated", "Optional"}


def record_ids():
    return sorted(RECORDS)


def test_records_come_from_the_oldest_and_newest_supported_release():
    assert {r["tag"] for r in RECORDS.values()} == {"v5.6.0", "v5.10.0"}
    for record in RECORDS.values():
        assert record["source"] == "https://github.com/Slicer/Slicer" and len(record["commit"]) == 40
        assert record["recorded_by"] == "Testing/SlicerAPI/record.py"


def class_members(record: dict, name: str) -> set[str]:
    """Members of a recorded class and of its recorded base classes."""
    found, todo = set(), [name]
    while todo:
        entry = record["classes"].get(todo.pop())
        if entry:
            found |= set(entry["members"])
            todo += entry["bases"]
    return found


def all_members(record: dict) -> set[str]:
    return {member for entry in record["classes"].values() for member in entry["members"]}


def chain(node: ast.AST) -> list[str] | None:
    """['slicer', 'util', 'tempDirectory'] for slicer.util.tempDirectory; None when the root is
    not a plain name (a call, a subscript...)."""
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(names)]


def ui_classes() -> dict[str, str]:
    return {w.get("name"): w.get("class") for w in ElementTree.parse(UI_FILE).getroot().iter("widget")}


def problems_in(path: Path, record: dict) -> list[str]:
    """Slicer names `path` uses that the record does not have."""
    tree = ast.parse(path.read_text())
    python = record["python"]
    classes, widgets = record["classes"], ui_classes()
    everything = all_members(record)
    problems = []

    def need(ok: bool, what: str, node: ast.AST):
        if not ok:
            problems.append(f"{path.name}:{node.lineno}: {what}")

    aliases = {}  # editor = self.ui.segmentEditorWidget: editor.<member> is checked as the widget's
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = chain(node.value) if isinstance(node.value, ast.Attribute) else None
            if value and len(value) == 3 and value[:2] == ["self", "ui"]:
                aliases[node.targets[0].id] = value
    attributes = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute)]
    inner = {id(n.value) for n in attributes if isinstance(n.value, ast.Attribute)}
    for node in attributes:
        if id(node) in inner:
            continue  # part of a longer chain, checked there
        names = chain(node)
        if names is not None and names[0] in aliases:
            names = [*aliases[names[0]], *names[1:]]
        if names is None:
            # <call or subscript>.Member: a VTK-style method of whatever it returned
            member = node.attr
            need(not member[:1].isupper() or member in everything or member in PLAIN_VTK, f"{member} is in no recorded class", node)
            continue
        root, rest = names[0], names[1:]
        if root == "slicer":
            head = rest[0]
            if head.startswith(("vtk", "q")):
                need(head in classes, f"slicer.{head} is not a recorded class", node)
                if len(rest) > 1:
                    need(rest[1] in class_members(record, head), f"slicer.{head}.{rest[1]} is not a member", node)
            elif head == "util":
                need(len(rest) < 2 or rest[1] in python["slicer.util"], f"slicer.{'.'.join(rest[:2])} does not exist", node)
            elif head == "mrmlScene":
                need(len(rest) < 2 or rest[1] in class_members(record, "vtkMRMLScene"), f"slicer.{'.'.join(rest[:2])} is not a member", node)
            elif head == "modules":
                need(len(rest) < 2 or rest[1] in python["slicer.modules"], f"slicer.{'.'.join(rest[:2])} is no module", node)
            elif head == "app":
                need(all(name in QT for name in rest[1:]), f"slicer.{'.'.join(rest)} not listed in QT", node)
            else:
                need(head in python["slicer attributes"], f"slicer.{head} is not set by Slicer", node)
        elif root == "self" and len(rest) >= 3 and rest[0] == "ui":
            widget, member = rest[1], rest[2]
            widget_class = widgets.get(widget, "")
            if widget_class in classes:
                need(member in class_members(record, widget_class) or member in QT, f"{widget_class}.{member} is not a member", node)
            else:
                need(member in QT, f"{widget_class}.{member} (Qt/CTK) is not listed in QT", node)
        elif root == "vtk":
            need(all(name in PLAIN_VTK or name == "util" or name == "numpy_support" for name in rest), f"vtk.{'.'.join(rest)} not listed", node)
        elif root == "qt":
            need(all(name in QT for name in rest), f"qt.{'.'.join(rest)} not listed in QT", node)
        elif root not in NOT_SLICER_ROOTS:
            for member in rest:
                if member[:1].isupper() and not member.isupper() and root != "self":
                    need(member in everything or member in PLAIN_VTK, f"{member} is in no recorded class", node)

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "slicer":
            imported = [alias.name for alias in node.names]
            if node.module == "slicer":
                need(all(name in classes for name in imported), f"from slicer import {imported}", node)
            elif node.module == "slicer.util":
                need(all(name in python["slicer.util"] for name in imported), f"from slicer.util import {imported}", node)
            elif node.module == "slicer.ScriptedLoadableModule":
                need(all(name in python["slicer.ScriptedLoadableModule"] for name in imported), f"from slicer.ScriptedLoadableModule import {imported}", node)
            elif node.module == "slicer.parameterNodeWrapper":
                need(all(name in python["slicer.parameterNodeWrapper"] for name in imported), f"from slicer.parameterNodeWrapper import {imported}", node)
            else:
                need(False, f"from {node.module} import ...: not recorded", node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("connect", "disconnect") \
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            signal = node.args[0].value.split("(")[0]
            need(signal in everything, f"signal {signal} is in no recorded class", node)
    return problems


@pytest.mark.parametrize("tag", record_ids())
@pytest.mark.parametrize("path", [MODULE_FILE, SCENE_FILE], ids=["DeepMIR.py", "scene.py"])
def test_every_slicer_name_the_code_spells_exists_in_the_release(path, tag):
    problems = problems_in(path, RECORDS[tag])
    assert not problems, f"not in Slicer {RECORDS[tag]['tag']}:\n" + "\n".join(problems)


@pytest.mark.parametrize("tag", record_ids())
def test_the_ui_uses_widgets_and_properties_the_release_has(tag):
    record = RECORDS[tag]
    connectors = {widget for widgets in record["python"]["slicer.parameterNodeWrapper connectors"].values() for widget in widgets}
    problems = []
    for widget in ElementTree.parse(UI_FILE).getroot().iter("widget"):
        widget_class = widget.get("class")
        properties = {p.get("name") for p in widget.findall("property") if p.get("stdset") != "0"}
        bound = any(p.get("name") == "SlicerParameterName" for p in widget.findall("property"))
        if widget_class.startswith("q") and widget_class != "qMRMLWidget":
            if widget_class not in record["classes"]:
                problems.append(f"{widget_class} is not recorded")
                continue
            members = class_members(record, widget_class)
            problems += [f"{widget_class}.{name}" for name in sorted(properties - members - QT)]
        else:
            problems += [f"{widget_class}.{name} (Qt/CTK) not listed in QT" for name in sorted(properties - QT)]
        if bound and widget_class not in connectors:
            problems.append(f"{widget.get('name')} ({widget_class}) is bound, but no parameterNodeWrapper connector takes a {widget_class}")
    assert not problems, f"not in Slicer {record['tag']}:\n" + "\n".join(problems)


def test_the_guard_sees_a_name_that_only_newer_slicers_have(tmp_path):
    """The check that would have caught vtkSegment.GetTerminology (Slicer 5.10 only)."""
    code = tmp_path / "uses_new_api.py"
    code.write_text("def f(segment):\n    return segment.GetTerminology()\n")
    assert problems_in(code, RECORDS["slicer-v5.6.0"]) == ["uses_new_api.py:2: GetTerminology is in no recorded class"]
    assert "GetTerminology" in class_members(RECORDS["slicer-v5.10.0"], "vtkSegment")
    assert "GetTerminology" not in class_members(RECORDS["slicer-v5.6.0"], "vtkSegment")


# --- the Python the releases embed ---------------------------------------------------------------

def files_slicer_runs() -> list[Path]:
    """DeepMIR.py and every DeepMIRLib module that Slicer's Python imports for the module and its worker."""
    import subprocess

    probe = ("import sys; from DeepMIRLib import dependencies, registry, worker, scene, pipeline, datastore; "
             "print('\\n'.join(m.__file__ for n, m in sys.modules.items() if n.startswith('DeepMIRLib') and getattr(m, '__file__', None)))")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    return [MODULE_FILE, *sorted(Path(line) for line in run.stdout.split())]


def newer_python_in(path: Path, version: tuple[int, int]) -> list[str]:
    """What `path` uses that Python `version` lacks: syntax, and the 3.10 features that parse on 3.9
    but fail when run (X | None evaluated without postponed annotations, zip(strict=),
    dataclass(kw_only=, slots=), itertools.pairwise)."""
    source = path.read_text()
    try:
        tree = ast.parse(source, feature_version=version)
    except SyntaxError as error:
        return [f"{path.name}:{error.lineno}: syntax of a newer Python: {error.msg}"]
    if version >= (3, 10):
        return []
    postponed = any(isinstance(n, ast.ImportFrom) and n.module == "__future__" and any(a.name == "annotations" for a in n.names)
                    for n in tree.body)
    annotations = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            annotations |= {id(n) for n in ast.walk(node.annotation)}
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            annotations |= {id(n) for n in ast.walk(node.returns)}
        if isinstance(node, ast.AnnAssign):
            annotations |= {id(n) for n in ast.walk(node.annotation)}
    found = []
    for node in ast.walk(tree):
        union = isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr)
        if union and id(node) in annotations and not postponed:
            found.append(f"{path.name}:{node.lineno}: X | Y annotation without 'from __future__ import annotations'")
        if union and id(node) not in annotations and any(isinstance(side, ast.Constant) and side.value is None for side in (node.left, node.right)):
            found.append(f"{path.name}:{node.lineno}: X | None evaluated at run time")
        if isinstance(node, ast.Call):
            name = chain(node.func) or []
            keywords = {k.arg for k in node.keywords}
            if name[-1:] == ["zip"] and "strict" in keywords:
                found.append(f"{path.name}:{node.lineno}: zip(strict=)")
            if name[-1:] == ["dataclass"] and keywords & {"kw_only", "slots", "match_args"}:
                found.append(f"{path.name}:{node.lineno}: dataclass({', '.join(sorted(keywords))})")
            if name[-1:] == ["pairwise"]:
                found.append(f"{path.name}:{node.lineno}: itertools.pairwise")
    return found


def test_what_slicer_runs_works_on_the_python_of_the_oldest_release():
    """Slicer 5.6 and 5.8 embed Python 3.9.10; DeepMIRLib runs there, in the module and in its
    worker (PythonSlicer), whatever requires-python says for pip installs."""
    oldest = min(tuple(int(v) for v in record["python_version"].split(".")[:2]) for record in RECORDS.values())
    assert oldest == (3, 9)
    files = files_slicer_runs()
    assert SCENE_FILE in files and ROOT / "DeepMIRLib" / "pipeline.py" in files
    problems = [problem for path in files for problem in newer_python_in(path, oldest)]
    assert not problems, "\n".join(problems)


def test_the_python_check_sees_what_breaks_on_39(tmp_path):
    code = tmp_path / "new.py"
    code.write_text("def f(a: int | None, b):\n    return list(zip(a, b, strict=True))\n")
    assert newer_python_in(code, (3, 9)) == ["new.py:1: X | Y annotation without 'from __future__ import annotations'", "new.py:2: zip(strict=)"]
    code.write_text("def f(x):\n    match x:\n        case 1:\n            return 2\n")
    assert "syntax of a newer Python" in newer_python_in(code, (3, 9))[0]


# --- at run time: the receivers' classes -----------------------------------------------------------

slicer = pytest.importorskip("slicer", reason="the calls are traced on the slicer-core wheel (pip install slicer-core)")

from test_slicer_module_widget import deepmir  # noqa: F401  (the fixture: DeepMIR.py with its stand-ins)


class CallTracer:
    """(class of the receiver, method) of every VTK method called from the given files."""

    def __init__(self, files):
        self.files = {str(f) for f in files}
        self.calls: dict[tuple[str, str], tuple[str, ...]] = {}

    def __enter__(self):
        sys.setprofile(self.profile)
        return self

    def __exit__(self, *exc):
        sys.setprofile(None)

    def profile(self, frame, event, arg):
        if event != "c_call" or frame.f_code.co_filename not in self.files:
            return
        receiver = getattr(arg, "__self__", None)
        if isinstance(receiver, vtk.vtkObjectBase):
            mro = tuple(cls.__name__ for cls in type(receiver).__mro__)
            self.calls[(mro[0], arg.__name__)] = mro


def exercise_the_scene_layer(tmp_path):
    """What the module does with the scene layer, on a small case: load, results, table, edits,
    transforms, views, export."""
    from DeepMIRLib import scene
    from DeepMIRLib.results import ModelSummary
    from DeepMIRLib.volumes import Volume, write_volume

    mrml = scene.new_scene()
    array = np.random.default_rng(0).random((10, 14, 16)).astype(np.float32)
    swi_volume = Volume(array, (4.0, -3.0, 2.0), (1.0, 1.1, 2.0), tuple(np.eye(3).ravel()))
    swi = scene.load_volume(mrml, write_volume(swi_volume, tmp_path / "swi.nii.gz"), "swi")
    transform = mrml.AddNewNodeByClass("vtkMRMLLinearTransformNode", "pose")
    swi.SetAndObserveTransformNodeID(transform.GetID())
    labels = np.zeros(array.shape, np.uint8)
    labels[3:5, 3:5, 3:5], labels[6:8, 9:11, 10:13] = 1, 2
    labels = scene.volume_from_node(swi).with_array(labels)
    segmentation, table = scene.show_result(mrml, labels, scene.find_lesions(labels), swi)
    lesions, table = scene.refresh_lesion_table(mrml, segmentation, swi, table, scene.find_lesions(labels))
    assert scene.switch_lesion_class_at(segmentation, swi, lesions[0].centroid_ras)
    assert scene.delete_lesion_at(segmentation, swi, lesions[1].centroid_ras)
    moved = mrml.AddNewNodeByClass("vtkMRMLLinearTransformNode", "moved")
    segmentation.SetAndObserveTransformNodeID(moved.GetID())
    scene.labels_from_segmentation(segmentation, swi)
    segment = segmentation.GetSegmentation().GetNthSegment(0)
    scene.set_segment_terminology(segment, scene.segment_terminology(segment))
    segmentation.GetSegmentation().AddEmptySegment("extra", "Segment_1", (0.5, 0.5, 0.5))
    with pytest.raises(scene.InputError):
        scene.labels_from_segmentation(segmentation, swi)
    segmentation.GetSegmentation().RemoveSegment("extra")
    mrml.AddNewNodeByClass("vtkMRMLSliceNode", "Red").SetLayoutName("Red")
    scene.centre_views_on(mrml, lesions[0].centroid_ras)
    model = ModelSummary("m", "1", "0" * 64, "multiclass", ("swi",))
    scene.export_to_datastore(tmp_path / "store", "case-1", "reader", {"swi": swi}, segmentation, labels, model)


def test_every_slicer_method_the_scene_layer_calls_exists_in_its_class_in_the_release(tmp_path):
    from DeepMIRLib import scene

    with CallTracer([SCENE_FILE, scene.__file__]) as tracer:
        exercise_the_scene_layer(tmp_path)
    assert len(tracer.calls) > 30, "the tracer saw too few calls: is sys.setprofile still reporting C calls?"
    check_traced_calls(tracer.calls)


def test_every_slicer_method_the_module_logic_calls_exists_in_its_class_in_the_release(deepmir, tmp_path):  # noqa: F811
    """The module's logic on the slicer-core scene (with the stand-ins of test_slicer_module_widget)."""
    import test_slicer_module_widget as harness

    logic = deepmir.DeepMIRLogic()
    swi, labels = harness.small_case(slicer.mrmlScene, slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLinearTransformNode"))
    parameterNode = deepmir.DeepMIRParameterNode()
    parameterNode.swiVolume, parameterNode.caseId, parameterNode.exportFolder = swi, "case-1", str(tmp_path / "store")
    folder = tmp_path / "result"
    folder.mkdir()
    with CallTracer([MODULE_FILE]) as tracer:
        logic.segmentEditorNode()
        logic.loadResult(harness.done_event(folder, labels), parameterNode)
        logic.lesionRows(parameterNode)
        logic.export(parameterNode)
        logic.inputNodes(parameterNode)
    assert len(tracer.calls) >= 5
    check_traced_calls(tracer.calls)


def check_traced_calls(calls):
    problems = []
    for record in RECORDS.values():
        for (class_name, method), mro in sorted(calls.items()):
            recorded = [name for name in mro if name in record["classes"]]
            if recorded:
                if not any(method in class_members(record, name) for name in recorded) and method not in PLAIN_VTK:
                    problems.append(f"{record['tag']}: {class_name}.{method} (recorded: {recorded})")
            elif method not in PLAIN_VTK:
                problems.append(f"{record['tag']}: {class_name}.{method}: {class_name} is not recorded and {method} is not plain VTK")
    assert not problems, "\n".join(problems)
