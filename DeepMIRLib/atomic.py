"""Atomic file writes: write to a temporary name in the target folder, then rename.

A reader never sees a half-written file under the final name, and an interrupted or
failed write leaves nothing behind. A process killed outright (kill -9, power cut of the
process) cannot clean up after itself: its temporary file or staging folder stays, under
a hidden name that says what it is (`.<name>.tmp-*`, `.<name>.partial-*`). The next
atomic write of the same target removes such leftovers when they are older than the
process that finds them (`sweep_leftovers`), so they never pile up and a live writer's
files are left alone.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

TEMPORARY_MARK = ".tmp-"  # .<name>.tmp-XXXXXXXX<suffix>: a file being written
STAGING_MARK = ".partial-"  # .<name>.partial-XXXXXXXX: a folder being filled
REPLACED_MARK = ".replaced-"  # .<name>.replaced-XXXXXXXX: a folder being replaced, removed next
PROCESS_STARTED = time.time()  # leftovers older than this were left by an earlier process


def atomic_write(path: Path | str, write: Callable[[str], None], suffix: str = "") -> Path:
    """Call `write(temporary_path)`, then rename the temporary file to `path`.

    `suffix` keeps a file-type suffix on the temporary name for writers that choose the
    format from it (SimpleITK)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_leftovers(path.parent, path.name)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}{TEMPORARY_MARK}", suffix=suffix, dir=path.parent)
    os.close(handle)
    try:
        write(temporary)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def is_leftover(name: str, target: str | None = None) -> bool:
    """True for the hidden name of a temporary file or staging folder of an atomic write
    (of `target` when given)."""
    if not name.startswith("."):
        return False
    marks = (TEMPORARY_MARK, STAGING_MARK, REPLACED_MARK)
    if target is not None:
        return any(name.startswith(f".{target}{mark}") for mark in marks)
    return any(mark in name for mark in marks)


def sweep_leftovers(folder: Path | str, target: str | None = None, older_than: float | None = PROCESS_STARTED) -> list[Path]:
    """Remove what killed atomic writes left in `folder` (for `target` only, or for every
    target), when last modified before `older_than` (default: the start of this process;
    None: whatever its age, for callers that hold a lock every writer takes). Returns what
    was removed; files that vanish meanwhile or cannot be removed are skipped."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not is_leftover(entry.name, target):
            continue
        try:
            if older_than is not None and entry.stat(follow_symlinks=False).st_mtime >= older_than:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: Path | str, text: str) -> Path:
    return atomic_write(path, lambda temporary: Path(temporary).write_text(text, encoding="utf-8"))


def json_ready(value: object) -> object:
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


def write_json_atomic(path: Path | str, data: object) -> Path:
    return write_text_atomic(path, json.dumps(json_ready(data), indent=2) + "\n")


def check_output_folder(path: Path | str) -> Path:
    """Refuse, before any work, an output folder that cannot be made: `path` is a file, or
    a file stands where one of its parent folders should be, or the nearest existing parent
    cannot be written to."""
    from .errors import InputError

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(path, "is a file, not a folder; choose another output folder")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(path, f"cannot be made: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(path, f"cannot be written: no permission to write in {existing}")
    return path


@contextmanager
def atomic_directory(path: Path | str, overwrite: bool = False) -> Iterator[Path]:
    """Fill a folder all-or-nothing: yields a hidden staging folder beside `path`, renamed
    to `path` when the block ends without error and removed when it fails. With
    `overwrite`, an existing folder is first renamed aside and removed once the new one is
    in place, so a kill leaves the old folder, the new one, or (between two renames) neither,
    never a mix."""
    path = Path(path)
    if path.exists() and not overwrite:
        from .errors import InputError

        raise InputError(path, "output folder exists already (use --overwrite to replace it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_leftovers(path.parent, path.name)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}{STAGING_MARK}", dir=path.parent))
    os.chmod(staging, 0o777 & ~_umask())
    try:
        yield staging
        replaced = None
        if path.exists():
            replaced = path.parent / f".{path.name}{REPLACED_MARK}{secrets.token_hex(4)}"
            os.replace(path, replaced)
        os.replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if replaced is not None:
        shutil.rmtree(replaced, ignore_errors=True)
