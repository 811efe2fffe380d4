"""The public library API is annotated: every public function of DeepMIRLib and every public
method of its public classes (names not starting with `_`) annotates its parameters (self and cls
aside, *args and **kwargs included) and its return. Read from the source with ast, so the check
needs none of the heavy dependencies and no Python newer than the code's."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LIBRARY = Path(__file__).resolve().parents[2] / "DeepMIRLib"

# Exempt until annotated: these modules were being rewritten when the rest of the library got
# its annotations. Remove an entry once its module passes.
EXEMPT = {
    "cli.py",
    "cohort.py",
    "bids.py",
    "dicomseg.py",
    "onnxrt.py",
    "secondstage.py",
}
EXEMPT_FOLDERS = {"review"}


def _modules() -> list[Path]:
    modules = []
    for path in sorted(LIBRARY.rglob("*.py")):
        relative = path.relative_to(LIBRARY)
        if relative.parts[0] in EXEMPT_FOLDERS or (len(relative.parts) == 1 and relative.name in EXEMPT):
            continue
        modules.append(path)
    return modules


def _unannotated(function: ast.FunctionDef | ast.AsyncFunctionDef, method: bool) -> list[str]:
    args = function.args
    parameters = args.posonlyargs + args.args + args.kwonlyargs
    static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in function.decorator_list)
    if method and not static and parameters and parameters[0].arg in ("self", "cls"):
        parameters = parameters[1:]
    missing = [p.arg for p in parameters if p.annotation is None]
    missing += [f"*{p.arg}" for p in (args.vararg,) if p is not None and p.annotation is None]
    missing += [f"**{p.arg}" for p in (args.kwarg,) if p is not None and p.annotation is None]
    if function.returns is None:
        missing.append("return")
    return missing


def public_unannotated(path: Path) -> list[str]:
    """'<line> <name>: <what lacks an annotation>' for each public function and public method
    of a public class in `path` that lacks one."""
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        members = []
        if isinstance(node, functions):
            members = [(node, node.name, False)]
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            members = [(sub, f"{node.name}.{sub.name}", True) for sub in node.body if isinstance(sub, functions)]
        for function, name, method in members:
            if function.name.startswith("_"):
                continue
            missing = _unannotated(function, method)
            if missing:
                found.append(f"{function.lineno} {name}: {', '.join(missing)}")
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(LIBRARY)))
def test_public_api_is_annotated(path: Path) -> None:
    missing = public_unannotated(path)
    assert not missing, f"{path.relative_to(LIBRARY.parent)}: public functions without annotations:\n" + "\n".join(missing)


def test_the_check_sees_what_lacks_annotations(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text(
        "def typed(a: int, *b: str, c: float = 1.0, **d: object) -> None: ...\n"
        "def untyped(a, b: int): ...\n"
        "def _private(a): ...\n"
        "class Public:\n"
        "    def method(self, x: int) -> int: ...\n"
        "    @classmethod\n"
        "    def build(cls, **options): ...\n"
        "    @staticmethod\n"
        "    def helper(self) -> None: ...\n"
        "    def _hidden(self, y): ...\n"
        "class _Private:\n"
        "    def method(self, z): ...\n"
    )
    assert public_unannotated(module) == [
        "2 untyped: a, return",
        "7 Public.build: **options, return",
        "9 Public.helper: self",
    ]


def test_exemptions_name_existing_modules() -> None:
    for name in EXEMPT:
        assert (LIBRARY / name).is_file(), f"{name} is exempt but no longer exists: drop it from EXEMPT"
    for folder in EXEMPT_FOLDERS:
        assert (LIBRARY / folder).is_dir(), f"{folder}/ is exempt but no longer exists: drop it from EXEMPT_FOLDERS"
