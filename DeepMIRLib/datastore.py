"""The training set (datastore): reader-approved annotations with every earlier version kept.

Layout (close to MONAI Label's, so its users feel at home)::

    <root>/datastore.json                      the index (see below)
    <root>/datastore.lock                      locked (flock) for the whole of every save
    <root>/images/<case>/{swi,qsm,t2}.nii.gz   the images of the newest save (brainmask optional)
    <root>/images/<case>/versions/v0001/...    an earlier image set, kept when a later save brought other images
    <root>/labels/original/<case>.nii.gz       the newest model output (0/1/2, SWI grid)
    <root>/labels/final/<case>.nii.gz          the newest reader-approved label: what training reads
    <root>/labels/{original,final}/versions/<case>/v0001.nii.gz   every saved version of each label

The index `datastore.json` holds, per case, a list of entries, oldest first; each entry is
one save: version (1, 2, ...), status ('approved' or 'draft'), annotator, time (UTC, ISO
8601), model (name, version, sha256), the label files of that version and their content
sha256, label info (names of the values, lesion counts) and what the reader changed
relative to the model output (`lesions.label_changes`).

A save never overwrites: each version's labels get their own file; when a case's images
change, the earlier set is copied to `images/<case>/versions/v<k>/` (k = the version that
wrote it) before the new images replace it. Every file is written atomically (temporary
name, then rename) and the whole save holds an exclusive lock on `datastore.lock`, so two
exports at once (two Slicer sessions, two processes) both get their own version.

The index is the commit point: it is written after every file it names, and readers go
through it (the label of a version is its `versions/` file, its images are found through
the index), so a save killed at any point leaves the previous version or the new one,
never a mix. The `<case>.nii.gz` copies, for tools that read the MONAI Label layout
without the index, are refreshed after it. What a killed save left behind (a version file
no entry names, temporary files) is replaced or removed by the next save.

No slicer, qt, vtk or torch imports: the Slicer module saves through this in Slicer's Python.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import __version__
from .atomic import atomic_directory, atomic_write, json_ready, sweep_leftovers, write_json_atomic
from .classes import BACKGROUND, BRAIN_MASK, CMB_CLASS, IRON_CLASS, LABEL_VALUES, MODALITIES
from .echotime import check_echo_time_ms
from .errors import InputError
from .lesions import label_changes, label_components
from .volumes import Volume, cast_voxels, check_label_values, check_volume, read_labels, same_grid, write_volume

INDEX_NAME = "datastore.json"
LOCK_NAME = "datastore.lock"
INDEX_FORMAT = "deepmir-datastore"
INDEX_FORMAT_VERSION = 1
VERSIONS_FOLDER = "versions"  # beside the cases it versions; never a case id
SUFFIX = ".nii.gz"
STATUSES = ("approved", "draft")  # only 'approved' labels are trained on
LESION_CLASSES = (CMB_CLASS, IRON_CLASS)
IMAGE_NAMES = (*MODALITIES, BRAIN_MASK)
CASE_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
# names Windows reserves for devices, with or without an extension (CON, NUL.txt, COM1.v2, ...)
WINDOWS_DEVICE_NAMES = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}


def validate_case_id(case_id: str) -> str:
    """The case id itself when it is a safe folder and file name on Linux, macOS and
    Windows: 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit (so
    no hidden names, no option-like names), not ending with '.' (Windows drops it), no '..'
    and no path separators, not a Windows device name (CON, NUL, COM1, ...); 'versions' is
    reserved. InputError otherwise. (Ids that differ only in letter case are refused by
    the save, which knows the other ids.)"""
    if (
        not isinstance(case_id, str)
        or not CASE_ID_PATTERN.fullmatch(case_id)
        or ".." in case_id
        or case_id.endswith(".")
        or case_id.casefold() == VERSIONS_FOLDER
        or case_id.split(".")[0].upper() in WINDOWS_DEVICE_NAMES
    ):
        raise InputError(
            repr(case_id),
            "is not a valid case id: use 1 to 128 letters, digits, '.', '_' or '-', starting with a letter "
            f"or digit and not ending with '.', without '..' or path separators, not a Windows device name "
            f"(CON, PRN, AUX, NUL, COM0-9, LPT0-9) and not '{VERSIONS_FOLDER}'",
        )
    return case_id


def content_sha256(volume: Volume) -> str:
    """sha256 of a volume's voxels (dtype, shape, bytes) and geometry: equal for equal images,
    whatever file they came from, and for a volume and the NIfTI file it was saved as. So
    the geometry enters at the precision NIfTI stores it: origin and spacing as float32,
    the direction rounded to 4 decimals (NIfTI keeps it as a float32 quaternion), -0.0 as 0."""
    digest = hashlib.sha256()
    array = np.ascontiguousarray(volume.array)
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    position = np.asarray([*volume.origin, *volume.spacing], dtype="<f4") + np.float32(0)
    direction = np.asarray(volume.direction, dtype="<f8").round(4) + 0.0
    digest.update(position.astype("<f4").tobytes() + direction.astype("<f8").tobytes())
    digest.update(array.tobytes())
    return digest.hexdigest()


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@contextmanager
def exclusive_lock(path: Path | str) -> Iterator[None]:
    """Hold an exclusive lock on the file `path` (created when missing) while the block runs;
    other processes wait. flock on POSIX, msvcrt.locking on Windows (Slicer runs on both)."""
    with open(path, "a+b") as handle:
        if os.name == "nt":  # pragma: no cover - exercised by Slicer on Windows only
            import msvcrt

            handle.seek(0)
            while True:
                try:
                    msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
                    break
                except OSError:
                    time.sleep(0.05)
            try:
                yield
            finally:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@dataclass(frozen=True)
class LabelRecord:
    """A saved label file: path relative to the datastore root, and its content sha256."""

    file: str
    sha256: str

    @classmethod
    def from_dict(cls, data: dict, kind: str, case_id: str) -> LabelRecord:
        """A record of the index, whose file must be a version file of its kind and case."""
        if not isinstance(data, dict) or set(data) != {"file", "sha256"} or not all(isinstance(v, str) for v in data.values()):
            raise ValueError(f"{kind} is {data!r}, not a {{file, sha256}} record")
        if not re.fullmatch(f"labels/{kind}/{VERSIONS_FOLDER}/{re.escape(case_id)}/v[0-9]{{4,}}{re.escape(SUFFIX)}", data["file"]):
            raise ValueError(f"{kind} file {data['file']!r} is not labels/{kind}/{VERSIONS_FOLDER}/{case_id}/v<version>{SUFFIX}")
        return cls(**data)


@dataclass(frozen=True)
class DatastoreEntry:
    """One save of a case, as the index records it (see the module docstring)."""

    case: str
    version: int
    status: str  # 'approved' or 'draft'
    annotator: str
    time: str  # UTC, ISO 8601
    model: dict | None  # name, version, sha256 of the model that made the original label
    images_version: int  # the version whose save wrote the images this entry uses
    images: dict[str, str]  # image name -> content sha256
    final: LabelRecord
    original: LabelRecord | None
    label_info: dict  # lesions.label_info of the final label
    changes: dict | None  # what the reader changed (lesions.label_changes, kept lesions counted only)
    deepmir_version: str
    # the SWI's echo time in ms where the reader's side knew it (echotime), so that training and
    # calibration that need it (secondstage --echo-time, --long-echo) can use the case; absent
    # from indexes written before the field
    swi_echo_time_ms: float | None = None

    def to_dict(self) -> dict:
        data = asdict(self)
        if data["swi_echo_time_ms"] is None:  # an entry without it reads as before the field
            del data["swi_echo_time_ms"]
        return data

    @classmethod
    def from_dict(cls, data: dict, case_id: str) -> DatastoreEntry:
        """An entry as the index holds it under the key `case_id`, checked field by field
        (TypeError or ValueError naming the field otherwise): a damaged or edited index must not make
        training read another case's files, or files outside the datastore."""
        if not isinstance(data, dict):
            raise TypeError(f"is a {type(data).__name__}, not an object")
        fields = set(cls.__dataclass_fields__)
        if not fields - OPTIONAL_ENTRY_FIELDS <= set(data) <= fields:
            raise ValueError(f"fields missing {sorted(fields - OPTIONAL_ENTRY_FIELDS - set(data))}, unknown {sorted(set(data) - fields)}")
        for name, kinds in _ENTRY_TYPES.items():
            value = data[name]
            if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
                raise ValueError(f"{name} is {value!r}, not of type {' or '.join(k.__name__ for k in kinds)}")
        if data["case"] != case_id:
            raise ValueError(f"names case {data['case']!r} but is filed under {case_id!r}")
        if data["status"] not in STATUSES:
            raise ValueError(f"status {data['status']!r} is not one of {', '.join(STATUSES)}")
        if not 1 <= data["images_version"] <= data["version"]:
            raise ValueError(f"images_version {data['images_version']} is not between 1 and the entry's version {data['version']}")
        images = data["images"]
        if "swi" not in images or set(images) - set(IMAGE_NAMES) or not all(isinstance(v, str) for v in images.values()):
            raise ValueError(f"images {images!r} must map swi (and optionally {', '.join(IMAGE_NAMES[1:])}) to checksums")
        echo_time = data.get("swi_echo_time_ms")
        if echo_time is not None:
            try:
                echo_time = check_echo_time_ms(echo_time, "swi_echo_time_ms")
            except InputError as error:
                raise ValueError(str(error)) from None
        original = data["original"]
        return cls(**{**data, "swi_echo_time_ms": echo_time, "final": LabelRecord.from_dict(data["final"], "final", case_id),
                      "original": LabelRecord.from_dict(original, "original", case_id) if original is not None else None})


OPTIONAL_ENTRY_FIELDS = {"swi_echo_time_ms"}
_ENTRY_TYPES = {
    "case": (str,), "version": (int,), "status": (str,), "annotator": (str,), "time": (str,), "model": (dict, type(None)),
    "images_version": (int,), "images": (dict,), "final": (dict,), "original": (dict, type(None)), "label_info": (dict,),
    "changes": (dict, type(None)), "deepmir_version": (str,),
}


@dataclass(frozen=True)
class CaseSummary:
    """One case in listings (`deepmir datastore`)."""

    case: str
    status: str  # of the newest save
    versions: int
    training_version: int | None  # the version training reads; None for drafts only
    annotator: str
    time: str
    model: dict | None
    changes: dict | None  # counts of kept, relabelled, added, deleted lesions

    def to_dict(self) -> dict:
        return asdict(self)


class Datastore:
    """A DeepMIR training set on disk (layout and rules: see the module docstring)."""

    def __init__(self, root, create: bool = False):
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise InputError(self.root, "is a file, not a datastore folder")
        if not (self.root / INDEX_NAME).is_file():
            if not create:
                problem = "folder not found" if not self.root.is_dir() else f"is not a DeepMIR datastore (no {INDEX_NAME})"
                raise InputError(self.root, problem)
            if (self.root / "images").exists() or (self.root / "labels").exists():
                raise InputError(self.root, f"holds images/ or labels/ without an index ({INDEX_NAME}); not creating a datastore over them")
            self.root.mkdir(parents=True, exist_ok=True)
            with exclusive_lock(self.root / LOCK_NAME):
                if not (self.root / INDEX_NAME).is_file():
                    self._write_index({})
        self._read_index()  # refuse a broken index now, not at the first save

    # --- reading ----------------------------------------------------------------------------

    def cases(self) -> list[DatastoreEntry]:
        """The newest entry of every case, sorted by case id."""
        return [entries[-1] for _, entries in sorted(self._read_index().items())]

    def entries(self, case_id: str) -> list[DatastoreEntry]:
        """Every saved version of a case, oldest first."""
        entries = self._read_index().get(validate_case_id(case_id))
        if not entries:
            raise InputError(self.root, f"holds no case {case_id!r}")
        return entries

    def approved(self) -> list[DatastoreEntry]:
        """The newest approved entry of every case that has one, sorted by case id: what
        training reads (a case whose saves are all drafts is left out)."""
        found = []
        for _, entries in sorted(self._read_index().items()):
            approved = [entry for entry in entries if entry.status == "approved"]
            if approved:
                found.append(approved[-1])
        return found

    def entry(self, case_id: str, version: int | None = None) -> DatastoreEntry:
        """One entry of a case: `version`, or the newest when None."""
        entries = self.entries(case_id)
        if version is None:
            return entries[-1]
        for entry in entries:
            if entry.version == version:
                return entry
        raise InputError(self.root, f"case {case_id!r} has no version {version}")

    def final_labels_path(self, case_id: str, version: int | None = None) -> Path:
        """The final label saved as `version` (approved or draft), or by default the newest
        reader-approved one: the version file the index names. (labels/final/<case>.nii.gz
        holds a copy of it for tools that read the MONAI Label layout; it is refreshed after
        the index, so a save killed in between leaves the copy one save behind until the
        case's next save. DeepMIR never reads it.)"""
        if version is not None:
            return self.root / self.entry(case_id, version).final.file
        approved = [entry for entry in self.entries(case_id) if entry.status == "approved"]
        if not approved:
            raise InputError(self.root, f"case {case_id!r} has no approved label (only drafts)")
        return self.root / approved[-1].final.file

    def original_labels_path(self, case_id: str, version: int | None = None) -> Path | None:
        """The model output that the newest entry (or `version`) was compared with; None when
        the case was annotated without one."""
        original = self.entry(case_id, version).original
        return self.root / original.file if original else None

    def image_paths(self, case_id: str, version: int | None = None) -> dict[str, Path]:
        """Image name -> file of the images saved with the newest entry (or with `version`).
        An image set lives in images/<case>/ while it is current and in
        images/<case>/versions/v<k>/ once a later save brought other images (that copy is
        made first, so it is the one to trust whenever it exists)."""
        entry = self.entry(case_id, version)
        archived = self._image_archive(case_id, entry.images_version)
        folder = archived if archived.is_dir() else self.root / "images" / case_id
        return {name: folder / f"{name}{SUFFIX}" for name in entry.images}

    def summary(self) -> list[CaseSummary]:
        """One row per case for listings, sorted by case id."""
        rows = []
        for case_id, entries in sorted(self._read_index().items()):
            newest = entries[-1]
            approved = [entry.version for entry in entries if entry.status == "approved"]
            rows.append(CaseSummary(case_id, newest.status, len(entries), approved[-1] if approved else None,
                                    newest.annotator, newest.time, newest.model, (newest.changes or {}).get("counts")))
        return rows

    # --- saving -----------------------------------------------------------------------------

    def save_case(
        self,
        case_id: str,
        images: dict[str, Volume],
        final_labels: Volume,
        *,
        original_labels: Volume | None = None,
        annotator: str = "",
        model: dict | None = None,
        changes: dict | None = None,
        status: str = "approved",
        swi_echo_time_ms: float | None = None,
    ) -> DatastoreEntry:
        """Save a new version of a case and return its index entry.

        images: name ('swi', 'qsm', 't2', 'brainmask') -> Volume; 'swi' is required, the
        others may be on their own grids. final_labels (and original_labels, the model
        output): 0/1/2 on the SWI grid. Without original_labels, the newest model output
        saved earlier with the same images (if any) is the entry's original, and its model the
        entry's model unless `model` is given. changes: what the reader changed; None
        computes it with lesions.label_changes(original, final), kept lesions counted but not
        listed (null when there is no original). status: 'approved' (trained on) or 'draft'.
        swi_echo_time_ms: the SWI's echo time in ms, where known (echotime.check_echo_time_ms)."""
        validate_case_id(case_id)
        if swi_echo_time_ms is not None:
            swi_echo_time_ms = check_echo_time_ms(swi_echo_time_ms, f"{case_id}: SWI echo time")
        swi = self._check_images(case_id, images)
        final = self._check_labels(final_labels, swi, f"{case_id}: final labels")
        original = None if original_labels is None else self._check_labels(original_labels, swi, f"{case_id}: original labels")
        if status not in STATUSES:
            raise InputError(f"{case_id}: status", f"{status!r} is not one of {', '.join(STATUSES)}")
        annotator, model, changes = _check_record_fields(case_id, annotator, model, changes)
        image_hashes = {name: content_sha256(volume) for name, volume in sorted(images.items())}
        with exclusive_lock(self.root / LOCK_NAME):
            index = self._read_index()
            clash = [other for other in index if other != case_id and other.casefold() == case_id.casefold()]
            if clash:
                raise InputError(repr(case_id), f"differs from the case {clash[0]!r} only in letter case; macOS and Windows "
                                                "file systems would store both in one folder: use the same id or another one")
            self._sweep_leftovers(case_id)
            earlier = index.get(case_id, [])
            version = 1 + max((entry.version for entry in earlier), default=0)
            images_version = self._save_images(case_id, images, image_hashes, earlier, version)
            if original is not None:
                original_record = self._save_label_version("original", case_id, version, original)
            else:  # compare with the model output saved earlier with these images, if any
                same_images = [e for e in earlier if e.images_version == images_version and e.original]
                original_record = same_images[-1].original if same_images else None
                model = model or (same_images[-1].model if same_images else None)
                if original_record is not None:
                    original = read_labels(self.root / original_record.file, LABEL_VALUES)
            if changes is None and original is not None:
                changes = stored_changes(label_changes(original.array, final.array))
            entry = DatastoreEntry(
                case=case_id,
                version=version,
                status=status,
                annotator=annotator,
                time=utc_now(),
                model=model,
                images_version=images_version,
                images=image_hashes,
                final=self._save_label_version("final", case_id, version, final),
                original=original_record,
                label_info=label_info(final.array),
                changes=changes,
                deepmir_version=__version__,
                swi_echo_time_ms=swi_echo_time_ms,
            )
            index[case_id] = earlier + [entry]
            self._write_index(index)  # the commit point: every file the entry names is written
            self._refresh_current_copies(case_id, index[case_id])
        return entry

    def _refresh_current_copies(self, case_id: str, entries: list[DatastoreEntry]) -> None:
        """labels/{final,original}/<case>.nii.gz: copies of the newest approved final label and
        of the newest model output, for tools that read the MONAI Label layout. Written
        after the index at every save, so a copy a killed save left behind is caught up."""
        approved = [entry.final for entry in entries if entry.status == "approved"]
        originals = [entry.original for entry in entries if entry.original is not None]
        for kind, records in (("final", approved), ("original", originals)):
            if records:
                self._copy(self.root / records[-1].file, self._current_label_path(kind, case_id))

    def _sweep_leftovers(self, case_id: str) -> None:
        """Remove the temporary files and staging folders of saves that were killed, in the
        folders this save writes to. Called under the lock, which every writer holds, so
        whatever is there is a leftover whatever its age."""
        folders = [self.root, self.root / "images" / case_id, self._image_archive(case_id, 1).parent]
        for kind in ("final", "original"):
            folders += [self.root / "labels" / kind, self.root / "labels" / kind / VERSIONS_FOLDER / case_id]
        for folder in folders:
            sweep_leftovers(folder, older_than=None)

    def _check_images(self, case_id: str, images: dict[str, Volume]) -> Volume:
        unknown = sorted(set(images) - set(IMAGE_NAMES))
        if unknown:
            raise InputError(f"{case_id}: images", f"unknown image names {unknown}; use {', '.join(IMAGE_NAMES)}")
        if "swi" not in images:
            raise InputError(f"{case_id}: images", "an SWI image is required")
        for name, volume in images.items():
            if not isinstance(volume, Volume):
                raise InputError(f"{case_id}: {name}", f"is a {type(volume).__name__}, not a volumes.Volume")
            check_volume(volume, f"{case_id}: {name}")
        return images["swi"]

    @staticmethod
    def _check_labels(labels: Volume, swi: Volume, what: str) -> Volume:
        """The labels as uint8 after checking the grid (the SWI's) and the values (0, 1, 2)."""
        if not isinstance(labels, Volume):
            raise InputError(what, f"are a {type(labels).__name__}, not a volumes.Volume")
        check_volume(labels, what)
        if not same_grid(labels, swi):
            raise InputError(what, f"are not on the SWI grid (shape {labels.shape} vs {swi.shape}, or origin, spacing or direction differ)")
        array = cast_voxels(labels.array, np.uint8, what)
        check_label_values(array, LABEL_VALUES, f"{what} (0 background, 1 microbleed, 2 iron deposit)")
        return labels.with_array(array)

    def _save_images(self, case_id: str, images: dict[str, Volume], hashes: dict[str, str], earlier: list[DatastoreEntry], version: int) -> int:
        """Write the images unless they equal the current ones; returns the version whose
        save wrote the images this entry uses. Images that change are first copied to
        images/<case>/versions/v<k>/."""
        folder = self.root / "images" / case_id
        if earlier:
            current = earlier[-1]
            if current.images == hashes:
                return current.images_version
            archive = self._image_archive(case_id, current.images_version)
            if not archive.is_dir():  # all or nothing: a reader trusts the archive once it exists
                with atomic_directory(archive) as staging:
                    for name in current.images:
                        shutil.copyfile(folder / f"{name}{SUFFIX}", staging / f"{name}{SUFFIX}")
            for name in set(current.images) - set(images):
                (folder / f"{name}{SUFFIX}").unlink(missing_ok=True)
        for name, volume in images.items():
            write_volume(volume, folder / f"{name}{SUFFIX}")
        return version

    def _save_label_version(self, kind: str, case_id: str, version: int, labels: Volume) -> LabelRecord:
        path = self.root / "labels" / kind / VERSIONS_FOLDER / case_id / f"v{version:04d}{SUFFIX}"
        write_volume(labels, path)
        return LabelRecord(path.relative_to(self.root).as_posix(), content_sha256(labels))

    def _current_label_path(self, kind: str, case_id: str) -> Path:
        return self.root / "labels" / kind / f"{case_id}{SUFFIX}"

    def _image_archive(self, case_id: str, version: int) -> Path:
        return self.root / "images" / case_id / VERSIONS_FOLDER / f"v{version:04d}"

    @staticmethod
    def _copy(source: Path, target: Path) -> None:
        atomic_write(target, lambda temporary: shutil.copyfile(source, temporary), suffix=SUFFIX)

    # --- the index --------------------------------------------------------------------------

    def _read_index(self) -> dict[str, list[DatastoreEntry]]:
        path = self.root / INDEX_NAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as err:
            raise InputError(path, f"cannot be read as a datastore index ({type(err).__name__}: {err})") from None
        if not isinstance(data, dict) or data.get("format") != INDEX_FORMAT or not isinstance(data.get("cases"), dict):
            raise InputError(path, f"is not a DeepMIR datastore index (format {INDEX_FORMAT!r} with 'cases')")
        format_version = data.get("format_version", 0)
        if not isinstance(format_version, int) or format_version > INDEX_FORMAT_VERSION:
            raise InputError(path, f"was written by a newer DeepMIR (index format {format_version!r}); update DeepMIR")
        return {case: _index_entries(path, case, entries) for case, entries in data["cases"].items()}

    def _write_index(self, cases: dict[str, list[DatastoreEntry]]) -> None:
        write_json_atomic(self.root / INDEX_NAME, {
            "format": INDEX_FORMAT,
            "format_version": INDEX_FORMAT_VERSION,
            "labels": {str(c.label): {"name": c.name, "color": c.color} for c in LESION_CLASSES},
            "cases": {case: [entry.to_dict() for entry in entries] for case, entries in sorted(cases.items())},
        })


def _index_entries(path: Path, case_id: str, entries) -> list[DatastoreEntry]:
    """A case's entries as the index holds them, checked: a valid case id, at least one
    entry, each a valid entry filed under its own id, versions increasing, images_version
    naming one of them."""
    try:
        validate_case_id(case_id)
    except InputError:
        raise InputError(path, f"holds an invalid case id {case_id!r}") from None
    if not isinstance(entries, list) or not entries:
        raise InputError(path, f"case {case_id!r}: a non-empty list of entries is required")
    checked = []
    for number, data in enumerate(entries, start=1):
        try:
            entry = DatastoreEntry.from_dict(data, case_id)
        except (TypeError, ValueError) as err:
            raise InputError(path, f"case {case_id!r}, entry {number}: {err}") from None
        if checked and entry.version <= checked[-1].version:
            raise InputError(path, f"case {case_id!r}, entry {number}: version {entry.version} does not follow {checked[-1].version}")
        if entry.images_version not in {e.version for e in checked} | {entry.version}:
            raise InputError(path, f"case {case_id!r}, entry {number}: images_version {entry.images_version} names no saved version")
        checked.append(entry)
    return checked


def _check_record_fields(case_id: str, annotator, model, changes) -> tuple[str, dict | None, dict | None]:
    """Refuse, before anything is written, what the index could not store: an annotator
    that is not text, a model that is not a {name, version, sha256, ...} object of plain
    values, changes that are not a JSON object."""
    if not isinstance(annotator, str):
        raise InputError(f"{case_id}: annotator", f"{annotator!r} is not text")
    if model is not None:
        if not isinstance(model, dict) or not all(isinstance(k, str) and isinstance(v, (str, int, float, type(None))) for k, v in model.items()):
            raise InputError(f"{case_id}: model", f"{model!r} is not an object of plain values (name, version, sha256)")
        model = dict(model) or None
    if changes is not None:
        if not isinstance(changes, dict):
            raise InputError(f"{case_id}: changes", f"is a {type(changes).__name__}, not an object (see lesions.label_changes)")
        try:
            json.dumps(json_ready(changes), allow_nan=False)
        except (TypeError, ValueError, RecursionError) as err:
            raise InputError(f"{case_id}: changes", f"cannot be stored as JSON ({err})") from None
    return annotator, model, changes


def stored_changes(changes: dict) -> dict:
    """label_changes as the index keeps it: the kept lesions are counted, not listed (they
    are in the label files; a list of 100 unchanged microbleeds per save would bury the edits)."""
    return {key: value for key, value in changes.items() if key != "kept"}


def label_info(labels: np.ndarray) -> dict:
    """What a label map holds: the values present, the names of the values, lesions per class."""
    labels = np.asarray(labels)
    return {
        "values": [int(v) for v in np.unique(labels)],
        "names": {str(BACKGROUND): "Background", **{str(c.label): c.name for c in LESION_CLASSES}},
        "lesions": {c.key: int(label_components(labels == c.label)[1]) for c in LESION_CLASSES},
    }
