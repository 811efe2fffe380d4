"""Atomic file writes: write to a temporary name in the target folder, then rename.

A reader never sees a half-written file under the final name, and an interrupted or
failed write leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable


def atomic_write(path, write: Callable[[str], None], suffix: str = "") -> Path:
    """Call `write(temporary_path)`, then rename the temporary file to `path`.

    `suffix` keeps a file-type suffix on the temporary name for writers that choose the
    format from it (SimpleITK)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(handle)
    try:
        write(temporary)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path, text: str) -> Path:
    return atomic_write(path, lambda temporary: Path(temporary).write_text(text))


def json_ready(value):
    """Dataclasses to dicts, tuples to lists and NaN to null, so that the JSON is standard."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_ready(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return json_ready(value.item())
    return value


def write_json_atomic(path, data) -> Path:
    return write_text_atomic(path, json.dumps(json_ready(data), indent=2) + "\n")


@contextmanager
def atomic_directory(path, overwrite: bool = False):
    """Fill a folder all-or-nothing: yields a hidden staging folder beside `path`, renamed
    to `path` when the block ends without error and removed when it fails."""
    path = Path(path)
    if path.exists() and not overwrite:
        from .errors import InputError

        raise InputError(path, "output folder exists already (use --overwrite to replace it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.partial-", dir=path.parent))
    os.chmod(staging, 0o777 & ~_umask())
    try:
        yield staging
        if path.exists():
            shutil.rmtree(path)
        os.replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
