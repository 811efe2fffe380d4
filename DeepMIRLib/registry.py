"""The model registry file, readable without torch (the Slicer module lists the models before
its dependencies are installed). Loading, registering and resolving models: modelfile.py."""

from __future__ import annotations

import json
from pathlib import Path

from .bundled import bundled_file

REGISTRY_PATH = bundled_file("models", "registry.json")


def read_registry(path: Path | str = REGISTRY_PATH) -> list[dict]:
    """Entries of the model registry (id, version, file, sha256, inputs, task, classes, default)."""
    path = Path(path)
    if not path.is_file():
        return []
    return json.loads(path.read_text(encoding="utf-8")).get("models", [])
