"""The Slicer module without Slicer: static checks of DeepMIR.py, its .ui and the CMake files,
the dependency plan, and the background worker run for real in a subprocess.

What needs desktop Slicer (Qt widgets, PyTorchUtils, the QTimer polling) is exercised by
DeepMIRTest in DeepMIR.py; the scene functions it calls are tested on slicer-core elsewhere.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import py_compile
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pytest

from DeepMIRLib import dependencies, worker
from DeepMIRLib.lesions import read_lesion_table
from DeepMIRLib.volumes import read_volume, same_grid

ROOT = Path(__file__).resolve().parents[2]
MODULE_FILE = ROOT / "DeepMIR" / "DeepMIR.py"
UI_FILE = ROOT / "DeepMIR" / "Resources" / "UI" / "DeepMIR.ui"
MODULE_CMAKE = ROOT / "DeepMIR" / "CMakeLists.txt"
EXTENSION_CMAKE = ROOT / "CMakeLists.txt"


@pytest.fixture(scope="module")
def module_tree() -> ast.Module:
    return ast.parse(MODULE_FILE.read_text(), filename=str(MODULE_FILE))


@pytest.fixture(scope="module")
def ui_widgets() -> dict[str, ElementTree.Element]:
    """objectName -> <widget> element of the .ui (the file must parse)."""
    root = ElementTree.parse(UI_FILE).getroot()
    return {w.get("name"): w for w in root.iter("widget")}


# --- DeepMIR.py and its .ui ----------------------------------------------------------------

def test_module_compiles(tmp_path):
    py_compile.compile(str(MODULE_FILE), cfile=str(tmp_path / "DeepMIR.pyc"), doraise=True)


def ui_names_used(tree: ast.Module) -> set[str]:
    """Every <name> in self.ui.<name> in the module."""
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "ui"
        and isinstance(node.value.value, ast.Name)
        and node.value.value.id == "self"
    }


def test_every_widget_the_module_uses_is_in_the_ui(module_tree, ui_widgets):
    used = ui_names_used(module_tree)
    assert {"runButton", "progressBar", "lesionTableWidget", "segmentEditorWidget", "exportButton"} <= used
    missing = sorted(used - set(ui_widgets))
    assert not missing, f"DeepMIR.py looks up widgets that {UI_FILE.name} does not define: {missing}"


def parameter_fields(tree: ast.Module) -> dict[str, str]:
    """Field name -> annotation source of the @parameterNodeWrapper class."""
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(getattr(d, "id", None) == "parameterNodeWrapper" for d in node.decorator_list):
            return {f.target.id: ast.unparse(f.annotation) for f in node.body if isinstance(f, ast.AnnAssign)}
    raise AssertionError("DeepMIR.py has no @parameterNodeWrapper class")


# widget class in the .ui -> what its annotation must look like to be bound by parameterNodeWrapper
BINDABLE = {
    "qMRMLNodeComboBox": r"^vtkMRML\w+Node$",
    "QLineEdit": r"^str$",
    "ctkDirectoryButton": r"^Path$",
    "QComboBox": r"^Annotated\[\w+, Choice\(.*\)\]$",  # a plain QComboBox binds only with Choice
    # a float without a range would set the spin box to -inf..inf (Slicer 5.6's QDoubleSpinBox connector)
    "QDoubleSpinBox": r"^Annotated\[float, .*WithinRange\(.*\)\]$",
}


def test_parameter_node_bindings_name_real_fields_with_fitting_widgets(module_tree, ui_widgets):
    fields = parameter_fields(module_tree)
    assert {"swiVolume", "qsmVolume", "t2Volume", "model", "device", "outputSegmentation", "lesionTable", "caseId", "annotator", "exportFolder"} <= set(fields)
    bound = {}
    for name, widget in ui_widgets.items():
        for prop in widget.findall("property"):
            if prop.get("name") == "SlicerParameterName":
                bound[prop.find("string").text] = (name, widget.get("class"))
    assert {"swiVolume", "qsmVolume", "t2Volume", "device", "swiEchoTimeMs", "outputSegmentation", "caseId", "annotator", "exportFolder"} <= set(bound)
    for parameter, (name, widget_class) in bound.items():
        assert parameter in fields, f"widget {name} binds {parameter!r}, which the parameter node does not have"
        assert re.match(BINDABLE[widget_class], fields[parameter]), f"widget {name} ({widget_class}) cannot represent {parameter}: {fields[parameter]}"


def test_module_uses_only_library_names_that_exist(module_tree):
    """`from DeepMIRLib import scene` then scene.<name>: every such name exists in the module."""
    imported = {}
    for node in ast.walk(module_tree):
        if isinstance(node, ast.ImportFrom) and node.module == "DeepMIRLib":
            for alias in node.names:
                imported[alias.asname or alias.name] = importlib.import_module(f"DeepMIRLib.{alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("DeepMIRLib."):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"DeepMIR.py imports {alias.name} from {node.module}, which has no such name"
    assert {"scene", "worker", "dependencies", "registry"} <= set(imported)
    used = [(node.value.id, node.attr) for node in ast.walk(module_tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in imported]
    missing = sorted({f"{m}.{name}" for m, name in used if not hasattr(imported[m], name)})
    assert not missing, f"DeepMIR.py uses names DeepMIRLib does not define: {missing}"
    assert ("scene", "export_to_datastore") in used and ("worker", "read_result") in used


# --- CMake ---------------------------------------------------------------------------------

def cmake_list(text: str, variable: str) -> list[str]:
    match = re.search(rf"set\(\s*{variable}\s+(.*?)\)", text, re.DOTALL)
    assert match, f"no set({variable} ...) in the CMake file"
    return [entry for line in match.group(1).splitlines() for entry in line.split("#")[0].split()]


def module_files_listed() -> set[Path]:
    text = MODULE_CMAKE.read_text()
    name = re.search(r"set\(\s*MODULE_NAME\s+(\w+)\s*\)", text).group(1)
    entries = cmake_list(text, "MODULE_PYTHON_SCRIPTS") + cmake_list(text, "MODULE_PYTHON_RESOURCES")
    assert len(entries) == len(set(entries)), "an entry is listed twice"
    return {(MODULE_CMAKE.parent / e.replace("${MODULE_NAME}", name)).resolve() for e in entries}


def files_in(folder: Path, pattern: str = "*") -> set[Path]:
    """Files under folder matching pattern, without caches and hidden files."""
    return {p.resolve() for p in folder.rglob(pattern) if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")}


def test_cmake_lists_every_module_file_and_only_existing_ones():
    """The module's own Python and resources (the library is found by CMake itself)."""
    listed, present = module_files_listed(), set(MODULE_CMAKE.parent.glob("*.py")) | files_in(MODULE_CMAKE.parent / "Resources")
    present = {p.resolve() for p in present}
    unlisted = sorted(str(p.relative_to(ROOT)) for p in present - listed)
    absent = sorted(str(p.relative_to(ROOT)) for p in listed - present)
    assert not unlisted, f"files the module needs but {MODULE_CMAKE.relative_to(ROOT)} does not list: {unlisted}"
    assert not absent, f"{MODULE_CMAKE.relative_to(ROOT)} lists files that do not exist: {absent}"


STUBS = """
macro(slicerMacroBuildScriptedModule)
  cmake_parse_arguments(MY "WITH_GENERIC_TESTS" "NAME" "SCRIPTS;RESOURCES" ${ARGN})
  message("module ${MY_NAME} scripts=${MY_SCRIPTS} resources=${MY_RESOURCES}")
endmacro()
macro(ctkMacroCompilePythonScript)
  cmake_parse_arguments(MY "NO_INSTALL_SUBDIR" "TARGET_NAME;SOURCE_DIR;DESTINATION_DIR;INSTALL_DIR" "SCRIPTS;RESOURCES" ${ARGN})
  message("library ${MY_TARGET_NAME} source=${MY_SOURCE_DIR} destination=${MY_DESTINATION_DIR} scripts=${MY_SCRIPTS} resources=${MY_RESOURCES}")
endmacro()
set(CMAKE_CURRENT_SOURCE_DIR "@SOURCE@")
set(CMAKE_BINARY_DIR "@BUILD@")
set(Slicer_QTSCRIPTEDMODULES_LIB_DIR "lib/Slicer-5.8/qt-scripted-modules")
include("@SOURCE@/CMakeLists.txt")
"""


@pytest.fixture(scope="module")
def cmake_build(tmp_path_factory) -> tuple[dict[str, dict[str, str]], Path]:
    """Run the module's CMakeLists with the two Slicer macros stubbed (they report what they
    are given; CMake's own commands run for real): ({'module': fields, 'library': fields},
    the build tree's scripted modules folder)."""
    if shutil.which("cmake") is None:
        pytest.skip("cmake not installed")
    build = tmp_path_factory.mktemp("build")
    script = build / "configure.cmake"
    script.write_text(STUBS.replace("@SOURCE@", MODULE_CMAKE.parent.as_posix()).replace("@BUILD@", build.as_posix()))
    run = subprocess.run(["cmake", "-P", str(script)], capture_output=True, text=True, check=True)
    lines = {line.split(" ", 1)[0]: line for line in run.stderr.splitlines() if line.startswith(("module", "library"))}
    fields = {kind: dict(part.split("=", 1) for part in line.split(" ")[2:]) for kind, line in lines.items()}
    return fields, build / "lib/Slicer-5.8/qt-scripted-modules"


def test_cmake_places_the_module_and_every_library_file(cmake_build):
    """The module's files go to the module macro; every Python file of DeepMIRLib (found by
    CMake, not listed) to the scripted modules folder, keeping its path (DeepMIRLib/...)."""
    fields, scripted_modules = cmake_build
    module, library = fields["module"], fields["library"]
    placed = {MODULE_CMAKE.parent / f.replace("${MODULE_NAME}", "DeepMIR") for f in module["scripts"].split(";") + module["resources"].split(";")}
    assert {p.resolve() for p in placed} == module_files_listed()
    assert Path(library["source"]).resolve() == ROOT
    assert Path(library["destination"]) == scripted_modules
    scripts = library["scripts"].split(";")
    assert {(ROOT / f).resolve() for f in scripts} == files_in(ROOT / "DeepMIRLib", "*.py")
    assert all(f.startswith("DeepMIRLib/") for f in scripts) and "DeepMIRLib/simulation/phantom.py" in scripts


def test_cmake_puts_the_resources_inside_the_library_where_it_finds_them(cmake_build):
    """Resources/ is copied to DeepMIRLib/Resources/ (as in the wheel), whole and unchanged,
    and DeepMIRLib run from the built folder (as Slicer and its worker run it) finds its
    registry, the default model's card and weights and the terminology there."""
    fields, scripted_modules = cmake_build
    copied = scripted_modules / "DeepMIRLib" / "Resources"
    assert {p.relative_to(copied) for p in files_in(copied)} == {p.relative_to(ROOT / "Resources") for p in files_in(ROOT / "Resources")}
    for path in files_in(ROOT / "Resources"):
        assert (copied / path.relative_to(ROOT / "Resources")).read_bytes() == path.read_bytes()
    for script in fields["library"]["scripts"].split(";"):  # what ctkMacroCompilePythonScript copies
        (scripted_modules / script).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / script, scripted_modules / script)
    probe = ("import DeepMIRLib, json; from DeepMIRLib import registry, scene; "
             "entry = [e for e in registry.read_registry() if e.get('default')][0]; "
             "print(json.dumps([DeepMIRLib.__file__, str(registry.REGISTRY_PATH.parent / entry['file']), str(scene.TERMINOLOGY_FILE)]))")
    run = subprocess.run([sys.executable, "-c", probe], cwd=scripted_modules.parent, capture_output=True, text=True, check=False,
                         env={**os.environ, "PYTHONPATH": str(scripted_modules)})
    assert run.returncode == 0, run.stderr
    package, card, terminology = (Path(p) for p in json.loads(run.stdout))
    assert package == scripted_modules / "DeepMIRLib" / "__init__.py"
    assert card.parent == copied / "models" and card.is_file() and card.with_suffix(".safetensors").is_file()
    assert terminology == copied / "Terminology" / "DeepMIR.term.json" and terminology.is_file()


def cmake_settings(text: str) -> dict[str, str]:
    return dict(re.findall(r'set\((EXTENSION_\w+)\s+"([^"]*)"\)', text))


def test_extension_metadata_is_complete():
    settings = cmake_settings(EXTENSION_CMAKE.read_text())
    for field in ("HOMEPAGE", "CATEGORY", "CONTRIBUTORS", "DESCRIPTION", "ICONURL", "SCREENSHOTURLS", "DEPENDS"):
        assert settings.get(f"EXTENSION_{field}", "").strip(), f"EXTENSION_{field} is empty"
    assert "PyTorch" in settings["EXTENSION_DEPENDS"].split()
    assert "add_subdirectory(DeepMIR)" in EXTENSION_CMAKE.read_text()
    # icon and screenshots are files of this repository, addressed on its main branch
    prefix = settings["EXTENSION_HOMEPAGE"].replace("https://github.com/", "https://raw.githubusercontent.com/") + "/main/"
    for url in [settings["EXTENSION_ICONURL"], *settings["EXTENSION_SCREENSHOTURLS"].split()]:
        assert url.startswith(prefix), url
        assert (ROOT / url[len(prefix):]).is_file(), f"{url} names no file of the repository"


def test_license_file_is_the_apache_license_pyproject_names():
    """The Extensions Index check (scripts/check_description_files.py, check_license_file)
    rejects an extension without a license file at the repository root."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text and len(text) > 11000  # the whole text, not a summary


# --- dependencies in Slicer -----------------------------------------------------------------

COMMAND_LINE_ONLY = ("tqdm", "matplotlib", "nilearn")  # never imported on the way to a detection in Slicer


def test_slicer_requirements_are_pyprojects_dependencies_less_the_command_line_ones():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = [r.split("#")[0].strip() for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]
    assert [r for r in project if not r.startswith(COMMAND_LINE_ONLY)] == list(dependencies.REQUIREMENTS)
    assert sorted(r.split(">")[0] for r in project if r.startswith(COMMAND_LINE_ONLY)) == sorted(COMMAND_LINE_ONLY)


def fake_python(**versions):
    """installed_version of a Python that has exactly these distributions."""
    return lambda name: versions.get(name.lower())


# The packages each supported Slicer release ships, from its SuperBuild/External_python-numpy.cmake,
# External_python-scipy.cmake, External_SimpleITK.cmake and External_python-pythonqt-requirements.cmake
SLICER_RELEASES = {
    "5.6.0": {"numpy": "1.26.1", "scipy": "1.11.3", "simpleitk": "2.2.1", "packaging": "23.2"},
    "5.8.1": {"numpy": "1.26.4", "scipy": "1.13.1", "simpleitk": "2.3.1", "packaging": "24.0"},
    "5.10.0": {"numpy": "2.0.2", "scipy": "1.13.1", "simpleitk": "2.5.2", "packaging": "25.0"},
}
SLICER_LIKE = SLICER_RELEASES["5.8.1"]


@pytest.mark.parametrize("release", sorted(SLICER_RELEASES))
def test_every_supported_slicers_own_packages_fit(release):
    plan = dependencies.slicer_install_plan(installed=fake_python(**SLICER_RELEASES[release]))
    assert not plan.conflicts
    assert plan.torch == "torch>=2.1" and plan.pip == ["nibabel>=4", "safetensors>=0.4"]


def test_fresh_slicer_gets_torch_from_pytorchutils_and_the_rest_from_pip_pinned_to_its_own_packages():
    plan = dependencies.slicer_install_plan(installed=fake_python(**dict(SLICER_LIKE, packaging=None)))
    assert plan.torch == "torch>=2.1"
    assert plan.pip == ["nibabel>=4", "safetensors>=0.4", "packaging>=21"]
    assert sorted(plan.constraints) == ["SimpleITK==2.3.1", "numpy==1.26.4", "scipy==1.13.1"]
    assert not plan.conflicts and not plan.empty
    assert plan.describe()[0].startswith("torch>=2.1 (through the PyTorch extension")


def test_complete_python_needs_nothing_and_old_versions_count_as_missing():
    everything = dict(SLICER_LIKE, nibabel="5.2.1", torch="2.4.1+cu121", safetensors="0.4.3")
    assert dependencies.slicer_install_plan(installed=fake_python(**everything)).empty
    older = dict(everything, nibabel="3.2.2", torch="1.13.0")
    plan = dependencies.slicer_install_plan(installed=fake_python(**older))
    assert plan.pip == ["nibabel>=4"] and plan.torch == "torch>=2.1"
    assert dependencies.missing_requirements(["nibabel>=4"], fake_python(nibabel="not-a-version")) == ["nibabel>=4"]


def test_slicers_own_packages_are_never_planned_for_pip():
    plan = dependencies.slicer_install_plan(installed=fake_python(numpy="1.21.0", scipy="1.13.1", simpleitk="2.1.1"))
    assert not any(r.split(">")[0].lower() in ("numpy", "scipy", "simpleitk") for r in plan.pip)
    assert [c.split(" ")[0] for c in plan.conflicts] == ["numpy>=1.24", "SimpleITK>=2.2"]


def test_installed_version_reads_this_python():
    assert dependencies.installed_version("numpy") == np.__version__
    assert dependencies.installed_version("no-such-distribution-deepmir") is None


# --- the background worker, run for real ----------------------------------------------------

@pytest.fixture(scope="module")
def participant(tmp_path_factory) -> Path:
    """A small simulated slab participant (12 slices at 2 x 2 x 1.5 mm) with swi, qsm, t2."""
    from DeepMIRLib.simulation.phantom import Protocol, simulate_participant, write_participant
    from DeepMIRLib.simulation.placement import LesionLoad

    protocol = Protocol(slab_slices=12, swi_size=(96, 128, 104), swi_spacing=(2.0, 2.0, 1.5))
    return write_participant(simulate_participant((41, 0), protocol, LesionLoad.named("dense")), tmp_path_factory.mktemp("sim") / "sub-01")


# Makes the command-line-only packages impossible to import, as in a Slicer where the module
# installed only dependencies.REQUIREMENTS.
BLOCK_COMMAND_LINE_PACKAGES = f"""
import sys
class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {set(COMMAND_LINE_ONLY)!r}:
            raise ImportError(name + " is not installed in Slicer")
sys.meta_path.insert(0, Blocked())
"""


def python_without_command_line_packages(module: str) -> list[str]:
    """A command running `module` as __main__ (arguments follow) without those packages."""
    run = f"import runpy; runpy.run_module({module!r}, run_name='__main__', alter_sys=True)"
    return [sys.executable, "-c", BLOCK_COMMAND_LINE_PACKAGES + run]


def run_worker(args: list[str]) -> tuple[int, list[dict], str]:
    """Run the worker as the module does, without the command-line-only packages; every
    stdout line must be an event object."""
    run = subprocess.run([*python_without_command_line_packages("DeepMIRLib.worker"), *args], capture_output=True, text=True, cwd=ROOT, check=False)
    events = [json.loads(line) for line in run.stdout.splitlines()]
    assert all(isinstance(e, dict) and "event" in e for e in events)
    return run.returncode, events, run.stderr


def test_worker_reports_progress_and_writes_the_prediction(participant, tmp_path):
    out = tmp_path / "result"
    command = worker.worker_command(participant / "swi.nii.gz", out, "default", "cpu", qsm=participant / "qsm.nii.gz", t2=participant / "t2.nii.gz", participant_id="sub-01")
    assert command[1:3] == ["-m", "DeepMIRLib.worker"]
    code, events, stderr = run_worker(command[3:])
    assert code == worker.EXIT_OK, stderr
    progress = [e for e in events if e["event"] == "progress"]
    fractions = [e["fraction"] for e in progress]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and 0.9 <= fractions[-1] < 1.0
    assert [e["stage"] for e in progress if e["stage"] != "inference"] == ["loading model", "reading and aligning images", "writing results"]
    assert any(e.get("slices_done") == e.get("slices") == 12 for e in progress)
    done = events[-1]
    assert done["event"] == "done" and [e for e in events if e["event"] in ("done", "error")] == [done]
    assert Path(done["out"]) == out and done["participant"] == "sub-01"
    assert done["model"]["name"] == "deepmir-multiclass-sim" and len(done["model"]["sha256"]) == 64
    assert sorted(p.name for p in out.iterdir()) == ["labels.nii.gz", "lesions.tsv", "prediction.json", "prob_cmb.nii.gz", "prob_iron.nii.gz"]

    result = worker.read_result(done)  # what the module shows
    swi = read_volume(participant / "swi.nii.gz")
    assert same_grid(result.labels, swi) and set(np.unique(result.labels.array)) <= {0, 1, 2}
    table = read_lesion_table(out / "lesions.tsv")
    assert len(result.lesions) == len(done["lesions"]) == len(table) > 0
    assert [lesion.row()["hemisphere"] for lesion in result.lesions] == [row["hemisphere"] for row in table]
    assert [str(lesion.row()["prob_max"]) for lesion in result.lesions] == [row["prob_max"] for row in table]
    assert result.model.name == done["model"]["name"] and result.notes == done["notes"]

    # the GUI process loads the result without importing torch or the network code, and imports
    # what the module uses without the command-line-only packages
    probe = BLOCK_COMMAND_LINE_PACKAGES + (
        "import json; from DeepMIRLib import worker, scene, registry, dependencies, datastore; "
        "d = worker.read_result(json.loads(sys.argv[1])); "
        "print(len(d.lesions), 'torch' in sys.modules, 'DeepMIRLib.unet' in sys.modules)")
    loaded = subprocess.run([sys.executable, "-c", probe, json.dumps(done)], capture_output=True, text=True, check=False)
    assert loaded.stdout.split() == [str(len(table)), "False", "False"], loaded.stderr


@pytest.mark.parametrize("problem", ["missing modality", "not an image"])
def test_worker_bad_input_reports_an_error_and_writes_nothing(participant, tmp_path, problem):
    if problem == "missing modality":
        args = ["--swi", str(participant / "swi.nii.gz")]  # the default model needs QSM and T2 too
        expected = "no QSM, T2 was given"
    else:
        broken = tmp_path / "swi.nii.gz"
        broken.write_text("not an image")
        args = ["--swi", str(broken), "--qsm", str(participant / "qsm.nii.gz"), "--t2", str(participant / "t2.nii.gz")]
        expected = str(broken)
    out = tmp_path / "result"
    code, events, _ = run_worker([*args, "--device", "cpu", "--out", str(out)])
    assert code == worker.EXIT_INPUT
    assert events[-1]["event"] == "error" and events[-1]["kind"] == "input" and expected in events[-1]["message"]
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".result")]


def test_cancel_kills_the_worker_and_its_process_group(participant, tmp_path):
    out = tmp_path / "result"
    process = worker.WorkerProcess(worker.worker_command(participant / "swi.nii.gz", out, device="cpu", qsm=participant / "qsm.nii.gz", t2=participant / "t2.nii.gz", python=sys.executable))
    process.start()
    events = []
    deadline = time.monotonic() + 120  # a guard against hanging, not a timing assertion
    while not events and time.monotonic() < deadline and not process.finished():
        events = [e for e in process.poll() if e["event"] == "progress"]
        time.sleep(0.05)
    assert events and events[0]["stage"] == "loading model"
    assert process.running
    process.cancel()
    assert process.cancelled and not process.running and process.returncode != 0
    process.wait(timeout=30)
    assert process.finished()
    if os.name != "nt":
        with pytest.raises(ProcessLookupError):
            os.killpg(process.process.pid, 0)  # no process of the group is left
    assert not out.exists()


def test_parse_event_keeps_non_event_lines_as_log():
    assert worker.parse_event('{"event": "progress", "fraction": 0.5, "stage": "inference"}\n')["fraction"] == 0.5
    assert worker.parse_event("UserWarning: something\n") == {"event": "log", "message": "UserWarning: something"}
    assert worker.parse_event("[1, 2]") == {"event": "log", "message": "[1, 2]"}
