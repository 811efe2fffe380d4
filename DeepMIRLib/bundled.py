"""Where the files DeepMIR ships with its code are: the bundled models and their registry
(Resources/models/) and the segment terminology (Resources/Terminology/).

Their one copy is the repository's top-level Resources/ folder, the 3D Slicer extension's
resource folder. An installed DeepMIRLib holds that folder as package data,
DeepMIRLib/Resources/: the wheel maps it there (setup.py) and so does the Slicer extension
(DeepMIR/CMakeLists.txt). A source checkout, on PYTHONPATH or installed editable, has it
beside DeepMIRLib/. Every user asks here; nothing else computes these paths.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

FOLDER_NAME = "Resources"


def bundled_folder() -> Path:
    """The folder holding models/ and Terminology/: inside the installed package, else
    beside the package in a source checkout. DeepMIRLib is always a plain folder (pip and
    Slicer never install it zipped), so its Traversable is a real path."""
    package = files("DeepMIRLib")
    installed = package / FOLDER_NAME
    if installed.is_dir():
        return Path(installed)
    return Path(package).parent / FOLDER_NAME


def bundled_file(*parts: str) -> Path:
    """A bundled file, e.g. bundled_file("models", "registry.json")."""
    return bundled_folder().joinpath(*parts)
