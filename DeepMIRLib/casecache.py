"""Training cases prepared once and kept on disk (the role of MONAI's PersistentDataset).

Preparing a case (reading its files, rigid registration of T2 to SWI, reorientation to
canonical, z-scoring each modality inside the brain mask, QSM clipped first) costs seconds
per participant, and `deepmir train` and every fold x modality set of `deepmir experiment`
need the same result. A case is therefore prepared once, with all of its modalities, and
stored; each model then takes its channels from the stored stack and reduces the stored
label map to its task (training.case_for_model).

Layout of a cache folder:

    <cache>/<case id>-<key>.npz    stack (M, Z, Y, X) float32, labels, mask, [mimics], meta (JSON);
                                   compressed zip (np.savez_compressed), read without pickle
    <cache>/<case id>-<key>.lock   held (flock) while a process prepares that entry

The key is a SHA-256 over the bytes of every input file of the case (images, brain mask,
labels, mimics) and over the preparation settings: registration choice, N4, normalisation,
the cache format, the DeepMIR version, the source of the modules that do the preparation,
and the numpy and SimpleITK versions. A changed file or changed code gets a new key, so a
stale entry is never served; old entries are simply not read again (delete the folder to
reclaim the space).

An entry is written to a temporary file and renamed into place (atomic.atomic_write), so a
process killed at any moment leaves no file under an entry's name. A reader still checks
what it reads (zip CRCs, the key stored inside, the shapes) and prepares the case again
when the check fails. Two processes that need the same entry (torchrun ranks) take turns
on its lock file: the first prepares and writes it, the second reads it.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.resources
import json
import os
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import SimpleITK as sitk

from . import __version__
from .atomic import atomic_write
from .classes import LABEL_VALUES, MODALITIES
from .datastore import exclusive_lock
from .errors import InputError
from .pipeline import check_modalities, prepare_participant
from .preprocessing import NORMALISATION, stack_modalities
from .simulation.objects import MIMIC_LABELS
from .volumes import read_labels, same_grid, to_canonical

if TYPE_CHECKING:
    from .training import TrainingCase

CACHE_FORMAT = 1
# the modules whose code decides what an entry holds: a change to any of them is a new key
PREPARATION_MODULES = ("alignment", "casecache", "pipeline", "preprocessing", "volumes")


@dataclass(frozen=True)
class Preparation:
    """How a case is prepared (the arguments of pipeline.prepare_participant)."""

    register: str = "auto"  # rigid registration of T2 to SWI: auto (when off the SWI grid), always, never
    n4: bool = False  # N4 bias correction of T2

    def settings(self) -> dict:
        """Everything besides the input files that decides an entry's content."""
        code = hashlib.sha256()
        for module in PREPARATION_MODULES:
            code.update(importlib.resources.files(__package__).joinpath(f"{module}.py").read_bytes())
        return {"format": CACHE_FORMAT, "register": self.register, "n4": self.n4, "normalisation": NORMALISATION,
                "deepmir": __version__, "code": code.hexdigest(), "numpy": np.__version__,
                "simpleitk": sitk.Version.VersionString()}


@dataclass
class CaseArrays:
    """One case as training needs it, canonical (LPS) orientation: the normalised modalities,
    the whole 0/1/2 label map and the mimics map (0 inside lesions)."""

    case_id: str
    modalities: tuple[str, ...]  # channels of `stack`, in the order of classes.MODALITIES
    stack: np.ndarray  # (M, Z, Y, X) float32, z-scored inside the brain mask, 0 outside
    labels: np.ndarray  # (Z, Y, X) uint8 label values 0, 1, 2
    mask: np.ndarray  # (Z, Y, X) uint8 brain mask
    mimics: np.ndarray | None = None  # (Z, Y, X) uint8 mimic kinds, simulated participants only
    source: Path | None = field(default=None, compare=False)  # the case's folder, for errors

    def channels(self, inputs: Sequence[str]) -> np.ndarray:
        """The stack of `inputs` in that order: a view of the stored stack when the channels
        are evenly spaced in it (every modality set of the paper), so that a fold holds no
        copy of it; a copy otherwise."""
        check_modalities(self.modalities, list(inputs), self.case_id, self.source or self.case_id)
        indices = [self.modalities.index(m) for m in inputs]
        step = indices[1] - indices[0] if len(indices) > 1 else 1
        if step > 0 and indices == list(range(indices[0], indices[-1] + 1, step)):
            return self.stack[indices[0] : indices[-1] + 1 : step]
        return self.stack[indices]


def prepare_arrays(case: TrainingCase, modalities: Sequence[str], preparation: Preparation = Preparation()) -> CaseArrays:
    """Read, align, reorient and normalise `modalities` of a case (SWI first), and bring its
    labels and mimics into the same orientation."""
    modalities = tuple(modalities)
    prepared = prepare_participant(case.inputs, list(modalities), preparation.register, preparation.n4)
    labels = read_labels(case.labels, LABEL_VALUES)  # whole map: each model reduces it to its task (training.case_for_model)
    if not same_grid(labels, prepared.swi):
        raise InputError(case.labels, "labels are not on the SWI grid of their case")
    stack = stack_modalities(prepared.canonical, list(modalities), prepared.mask)
    mimics = None
    if case.mimics is not None:
        mimic_volume = read_labels(case.mimics, (0, *sorted(MIMIC_LABELS.values())))
        if not same_grid(mimic_volume, prepared.swi):
            raise InputError(case.mimics, "mimics are not on the SWI grid of their case")
        mimics = to_canonical(mimic_volume.with_array(np.where(labels.array > 0, 0, mimic_volume.array)))[0].array
    return CaseArrays(case.case_id, modalities, stack, to_canonical(labels)[0].array, prepared.mask, mimics, case.inputs.swi.parent)


def available_modalities(case: TrainingCase) -> tuple[str, ...]:
    paths = case.inputs.modality_paths()
    return tuple(m for m in MODALITIES if m in paths)


def case_files(case: TrainingCase) -> dict[str, Path]:
    """Every input file of a case, by role."""
    files = dict(case.inputs.modality_paths())
    for role, path in (("brainmask", case.inputs.mask), ("labels", case.labels), ("mimics", case.mimics)):
        if path is not None:
            files[role] = Path(path)
    return files


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes; of a folder (a DICOM series), of its files' names and bytes."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def case_key(case: TrainingCase, preparation: Preparation = Preparation()) -> str:
    files = {role: file_digest(path) for role, path in case_files(case).items()}
    text = json.dumps({"files": files, "settings": preparation.settings()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def default_cache_folder() -> Path:
    """The per-user cache of `deepmir train`: $XDG_CACHE_HOME/deepmir/cases, or
    ~/.cache/deepmir/cases."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "deepmir" / "cases"


class DamagedEntry(Exception):
    """A cache entry that cannot be read back as the entry it should be."""


def write_entry(path: Path, arrays: CaseArrays, key: str) -> None:
    meta = {"format": CACHE_FORMAT, "key": key, "case": arrays.case_id, "modalities": list(arrays.modalities)}
    fields = {"meta": np.array(json.dumps(meta)), "stack": arrays.stack, "labels": arrays.labels, "mask": arrays.mask}
    if arrays.mimics is not None:
        fields["mimics"] = arrays.mimics

    def write(temporary: str) -> None:
        with open(temporary, "wb") as handle:
            np.savez_compressed(handle, **fields)  # a third of the size; reading it back stays far cheaper than preparing
            handle.flush()
            os.fsync(handle.fileno())  # complete on disk before the rename makes it visible

    atomic_write(path, write)


def read_entry(path: Path, key: str, source: Path | None = None) -> CaseArrays:
    """The arrays of an entry; DamagedEntry when it is truncated, corrupt (zip CRC), made for
    another key or inconsistent; FileNotFoundError when there is none."""
    try:
        with np.load(path, allow_pickle=False) as entry:
            meta = json.loads(str(entry["meta"]))
            if meta["format"] != CACHE_FORMAT or meta["key"] != key:
                raise DamagedEntry(f"{path}: made for another key")
            mimics = entry["mimics"] if "mimics" in entry.files else None
            result = CaseArrays(meta["case"], tuple(meta["modalities"]), entry["stack"], entry["labels"], entry["mask"], mimics, source)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise DamagedEntry(f"{path}: {error}") from error
    grids = {a.shape for a in (result.labels, result.mask, result.mimics) if a is not None}
    if result.stack.shape[:1] != (len(result.modalities),) or grids != {result.stack.shape[1:]}:
        raise DamagedEntry(f"{path}: arrays of inconsistent shapes")
    return result


class CaseCache:
    """Prepared cases, from `folder` on disk (None: no disk cache) and, with
    `keep_in_memory`, from memory after their first use.

    Without either, `get` prepares only the modalities asked for (nothing could reuse the
    others); with either, it prepares every modality the case has, so that any modality set
    can be served later from the same entry."""

    def __init__(self, folder: Path | None = None, keep_in_memory: bool = False,
                 preparation: Preparation = Preparation(), log: Callable[[str], None] | None = None):
        self.folder = Path(folder) if folder is not None else None
        self.keep_in_memory = keep_in_memory
        self.preparation = preparation
        self.log = log or (lambda line: None)
        self.memory: dict[str, CaseArrays] = {}
        self.prepared = 0  # cases prepared from their files
        self.read = 0  # cases read from the disk cache

    def get(self, case: TrainingCase, modalities: Sequence[str]) -> CaseArrays:
        """The case with (at least) `modalities`."""
        if case.case_id in self.memory:
            return self.memory[case.case_id]
        if self.folder is None and not self.keep_in_memory:
            self.prepared += 1
            return prepare_arrays(case, modalities, self.preparation)
        arrays = self._from_disk(case) if self.folder is not None else self._prepare(case)
        if self.keep_in_memory:
            self.memory[case.case_id] = arrays
        return arrays

    def _prepare(self, case: TrainingCase) -> CaseArrays:
        self.prepared += 1
        return prepare_arrays(case, available_modalities(case), self.preparation)

    def _from_disk(self, case: TrainingCase) -> CaseArrays:
        key = case_key(case, self.preparation)
        path = self.folder / f"{case.case_id}-{key}.npz"
        source = case.inputs.swi.parent
        try:
            return self._read(path, key, source)  # complete entries need no lock: they are renamed into place
        except FileNotFoundError:
            pass
        except DamagedEntry as error:
            self.log(f"cache entry damaged, preparing the case again: {error}")
        self.folder.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(path.with_suffix(".lock")):
            try:  # another process may have written it while this one waited for the lock
                return self._read(path, key, source)
            except (FileNotFoundError, DamagedEntry):
                pass
            for stale in self.folder.glob(glob.escape(f".{path.name}.") + "*"):  # left by a writer that was killed; writers hold this lock
                stale.unlink()
            arrays = self._prepare(case)
            write_entry(path, arrays, key)
            return arrays

    def _read(self, path: Path, key: str, source: Path) -> CaseArrays:
        arrays = read_entry(path, key, source)
        self.read += 1
        return arrays
