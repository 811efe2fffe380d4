"""Record the Slicer API the DeepMIR module and scene layer may use, from Slicer's sources at a tag.

    python Testing/SlicerAPI/record.py SLICER_GIT_DIR v5.6.0 > Testing/SlicerAPI/slicer-v5.6.0.json

SLICER_GIT_DIR is a clone (or bare mirror) of https://github.com/Slicer/Slicer; nothing is
built. Recorded, for the tag:
- per class of CLASSES and of every base class whose header is in the repository: the public
  members a Python caller can reach. VTK-style classes (vtk...): public methods, the methods
  vtk{Get,Set,Boolean}...Macro declare, enum constants. Qt classes (q...): public slots,
  signals, Q_INVOKABLE methods and Q_PROPERTY names (what PythonQt exposes);
- the functions and classes of slicer.util (with VTKObservationMixin's methods), the classes of
  slicer.ScriptedLoadableModule with their methods, the names slicer.parameterNodeWrapper
  exports and the widget classes its GUI connectors bind;
- the attributes the application sets on the slicer module (app, mrmlScene, modules) and the
  module names under slicer.modules;
- the Python version the release embeds (CMakeLists.txt, Slicer_REQUIRED_PYTHON_VERSION).
Parsing is by regular expressions on comment-stripped headers: it may record a name too many
(a call inside an inline method body), never one the header does not contain.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

CLASSES = [
    # vtkSegmentationCore
    "vtkSegment", "vtkSegmentation", "vtkSegmentationConverter", "vtkOrientedImageData", "vtkOrientedImageDataResample",
    # MRML
    "vtkMRMLScene", "vtkMRMLScalarVolumeNode", "vtkMRMLLabelMapVolumeNode", "vtkMRMLSegmentationNode", "vtkMRMLTableNode",
    "vtkMRMLTransformNode", "vtkMRMLLinearTransformNode", "vtkMRMLSliceNode", "vtkMRMLSegmentEditorNode",
    "vtkMRMLApplicationLogic", "vtkMRMLColorLogic",
    # module logics
    "vtkSlicerApplicationLogic", "vtkSlicerSegmentationsModuleLogic", "vtkSlicerVolumesLogic", "vtkSlicerTablesLogic",
    "vtkSlicerTerminologiesModuleLogic", "vtkSlicerColorLogic",
    # widgets
    "qMRMLSegmentEditorWidget", "qMRMLSegmentationShow3DButton", "qMRMLNodeComboBox", "qSlicerSegmentEditorEffectFactory",
]

VTK_MACRO = re.compile(r"\bvtk(Get|Set)\w*Macro\s*\(\s*(\w+)")
VTK_BOOLEAN_MACRO = re.compile(r"\bvtkBooleanMacro\s*\(\s*(\w+)")
CALLABLE = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
ENUM = re.compile(r"\benum\b[^{;]*\{([^}]*)\}")
ACCESS = re.compile(r"^\s*(public|protected|private)\s*(slots|Q_SLOTS)?\s*:|^\s*(signals|Q_SIGNALS)\s*:", re.MULTILINE)
NOT_MEMBERS = {"if", "for", "while", "switch", "return", "sizeof", "operator", "static_cast", "const_cast", "dynamic_cast",
               "reinterpret_cast", "defined", "Q_OBJECT", "Q_PROPERTY", "Q_INVOKABLE", "Q_DECLARE_PRIVATE", "Q_DISABLE_COPY",
               "QVTK_OBJECT", "Q_ENUMS", "Q_ENUM", "Q_FLAGS", "Q_FLAG", "vtkTypeMacro", "VTK_NEWINSTANCE"}


def git(repo: str, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", repo, *args], capture_output=True, text=True, check=True).stdout


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.DOTALL)
    return re.sub(r"//[^\n]*", " ", text)


def class_declaration(text: str, name: str) -> tuple[list[str], str] | None:
    """(base class names, body) of `class [EXPORT] name : public Base {...};` in a header."""
    match = re.search(rf"\bclass\s+(?:\w+\s+)?{name}\s*(?::([^{{;]*))?\{{", text)
    if match is None:
        return None
    depth, end = 1, match.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        end += 1
    bases = [base.split()[-1].split("<")[0] for base in (match.group(1) or "").split(",") if base.strip()]
    return bases, text[match.end():end - 1]


def public_parts(body: str, qt: bool) -> list[tuple[str, str]]:
    """(section, text) for the public sections ('public', 'slots', 'signals') of a class body."""
    parts, section, last = [], "private", 0
    for match in ACCESS.finditer(body):
        parts.append((section, body[last:match.start()]))
        if match.group(3):
            section = "signals"
        else:
            section = "slots" if match.group(2) and match.group(1) == "public" else match.group(1)
        last = match.end()
    parts.append((section, body[last:]))
    keep = ("public", "slots", "signals")
    return [(s, t) for s, t in parts if s in keep or (qt and s == "private" and "Q_PROPERTY" in t)]


def without_inline_bodies(text: str) -> str:
    """Declarations only: the bodies of inline methods (calls to other functions) removed."""
    while True:
        stripped = re.sub(r"\{[^{}]*\}", ";", text)
        if stripped == text:
            return text
        text = stripped


def members(body: str, qt: bool) -> set[str]:
    found = set()
    for section, text in public_parts(body, qt):
        for enum in ENUM.findall(text):
            found |= {item.split("=")[0].strip() for item in enum.split(",") if item.split("=")[0].strip()}
        text = without_inline_bodies(text)
        if qt:
            found |= set(re.findall(r"Q_PROPERTY\s*\(\s*[\w:<>]+\s*\*?\s*(\w+)", text))
            if section in ("slots", "signals"):
                found |= set(CALLABLE.findall(text))
            found |= set(re.findall(r"Q_INVOKABLE\s+[^;{(]*?\b(\w+)\s*\(", text))
            continue
        if section != "public":
            continue
        found |= {f"{kind}{name}" for kind, name in VTK_MACRO.findall(text)}
        found |= {name + suffix for name in VTK_BOOLEAN_MACRO.findall(text) for suffix in ("On", "Off")}
        found |= set(CALLABLE.findall(re.sub(r"\bvtk\w*Macro\s*\([^)]*\)", " ", text)))
    return {name for name in found if name not in NOT_MEMBERS and re.fullmatch(r"[A-Za-z_]\w*", name)}


def record_classes(repo: str, tag: str, files: list[str]) -> dict:
    headers = {path.rsplit("/", 1)[-1][:-2]: path for path in files if path.endswith(".h")}
    classes, todo = {}, list(CLASSES)
    while todo:
        name = todo.pop(0)
        if name in classes or name not in headers:
            continue
        declaration = class_declaration(strip_comments(git(repo, "show", f"{tag}:{headers[name]}")), name)
        if declaration is None:
            raise SystemExit(f"no declaration of {name} in {headers[name]}")
        bases, body = declaration
        classes[name] = {"header": headers[name], "bases": bases, "members": sorted(members(body, name.startswith("q")))}
        todo += [base for base in bases if base in headers]
    missing = [name for name in CLASSES if name not in classes]
    if missing:
        raise SystemExit(f"no header at {tag} for {missing}")
    return dict(sorted(classes.items()))


def python_names(source: str) -> dict[str, list[str]]:
    """Top-level functions and classes of a Python file, and each class's methods."""
    tree = ast.parse(source)
    names = {"": []}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names[""].append(node.name)
        if isinstance(node, ast.ClassDef):
            names[node.name] = sorted(n.name for n in node.body if isinstance(n, ast.FunctionDef))
    names[""] = sorted(names[""])
    return names


def dunder_all(source: str) -> list[str]:
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return list(ast.literal_eval(node.value))
    return []


def record_python(repo: str, tag: str, files: list[str]) -> dict:
    base = "Base/Python/slicer"
    util = python_names(git(repo, "show", f"{tag}:{base}/util.py"))
    module = python_names(git(repo, "show", f"{tag}:{base}/ScriptedLoadableModule.py"))
    wrapper_files = sorted(path for path in files if path.startswith(f"{base}/parameterNodeWrapper/") and path.endswith(".py"))
    exported, widgets = set(), {}
    for path in wrapper_files:
        source = git(repo, "show", f"{tag}:{path}")
        exported |= set(dunder_all(source))
        for node in ast.parse(source).body:
            represent = next((f for f in getattr(node, "body", []) if getattr(f, "name", "") == "canRepresent"), None)
            if represent is not None:
                widgets[node.name] = sorted(set(re.findall(r"\b(?:qt|ctk|slicer)\.(\w+)", ast.get_source_segment(source, represent))))
    slicerqt = git(repo, "show", f"{tag}:{base}/slicerqt.py")
    loadable = {path.split("/")[2] for path in files if path.startswith(("Modules/Loadable/", "Modules/Scripted/")) and path.count("/") >= 3}
    return {
        "slicer.util": util[""],
        "slicer.util.VTKObservationMixin": util.get("VTKObservationMixin", []),
        "slicer.ScriptedLoadableModule": {name: methods for name, methods in module.items() if name},
        "slicer.parameterNodeWrapper": sorted(exported),
        "slicer.parameterNodeWrapper connectors": widgets,
        "slicer attributes": sorted(set(re.findall(r'setattr\(slicer,\s*"(\w+)"', slicerqt))
                                    | ({"modules"} if "setattr(slicer.modules," in slicerqt else set())
                                    | {path[len(base) + 1:].split("/")[0].removesuffix(".py") for path in files
                                       if path.startswith(base + "/") and "/Testing/" not in path}),
        "slicer.modules": sorted(name.lower() for name in loadable),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    repo, tag = argv[1], argv[2]
    if (Path(repo) / ".git").exists():  # a clone with a work tree; a bare mirror is used as it is
        repo = str(Path(repo) / ".git")
    files = git(repo, "ls-tree", "-r", "--name-only", tag).split()
    record = {
        "source": "https://github.com/Slicer/Slicer",
        "tag": tag,
        "commit": git(repo, "rev-parse", f"{tag}^{{commit}}").strip(),
        "recorded_by": "Testing/SlicerAPI/record.py",
        "python_version": re.search(r'set\(Slicer_REQUIRED_PYTHON_VERSION "([\d.]+)"\)', git(repo, "show", f"{tag}:CMakeLists.txt")).group(1),
        "classes": record_classes(repo, tag, files),
        "python": record_python(repo, tag, files),
    }
    json.dump(record, sys.stdout, indent=1, sort_keys=False)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
