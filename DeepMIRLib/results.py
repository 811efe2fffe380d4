"""What a detection produces: one typed `Detection`, and the files it is written as.

Every front end (the command line, the Slicer module's background worker, the scene layer,
the demo, calibration and the experiments) gets a `Detection` from `pipeline.detect`. This
module imports neither torch nor the network code, so the Slicer GUI process can read a
background worker's result without loading them.

A participant's output folder, written all or nothing:
    labels.nii.gz           0 background, 1 cerebral microbleed, 2 iron deposit, on the SWI grid
    prob_<class key>.nii.gz probability map per class, on the SWI grid
    lesions.tsv             one row per lesion (lesions.TABLE_COLUMNS)
    prediction.json         participant, model, notes on what preprocessing did
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from .atomic import atomic_directory, write_text_atomic
from .classes import LABEL_VALUES, LesionClass, classes_for_task
from .errors import InputError
from .lesions import Lesion, lesion_counts, read_lesions, write_lesion_table
from .volumes import Volume, read_labels, read_volume, write_volume

LABELS_FILE = "labels.nii.gz"
LESION_TABLE_FILE = "lesions.tsv"
REPORT_FILE = "prediction.json"


def probability_file(class_key: str) -> str:
    """File name of a class's probability map, e.g. prob_cmb.nii.gz."""
    return f"prob_{class_key}.nii.gz"


@dataclass(frozen=True)
class ModelSummary:
    """What a result records about the model that made it (and the datastore keeps)."""

    name: str
    version: str
    sha256: str
    task: str
    inputs: tuple[str, ...]

    @property
    def lesion_classes(self) -> tuple[LesionClass, ...]:
        return classes_for_task(self.task)

    def to_dict(self) -> dict:
        return {**asdict(self), "inputs": list(self.inputs)}

    @classmethod
    def from_dict(cls, data: dict) -> ModelSummary:
        return cls(str(data["name"]), str(data["version"]), str(data.get("sha256", "")), str(data["task"]), tuple(data["inputs"]))


@dataclass
class Detection:
    """One participant's result, on the SWI grid."""

    participant_id: str
    labels: Volume  # 0/1/2
    probabilities: dict[str, Volume]  # class key -> probability map; empty when not loaded
    lesions: list[Lesion]
    model: ModelSummary
    notes: list[str] = field(default_factory=list)  # what preprocessing did (registration, resampling, mask); a long-echo minimum
    # the aligned, canonical inputs (pipeline.PreparedParticipant) for figures; None when read from files
    prepared: object | None = None
    # the options that decided the output (pipeline.detection_settings); a cohort run skips a
    # participant whose folder holds the same model and settings
    settings: dict = field(default_factory=dict)

    def lesion_counts(self) -> dict:
        """Number and volume of lesions per class (the cohort table's columns)."""
        return lesion_counts(self.lesions, self.model.lesion_classes)


def write_detection(detection: Detection, out_dir: Path | str, overwrite: bool = False, extra: Callable[[Path], None] | None = None,
                    run_id: str | None = None) -> Path:
    """Write label map, probability maps, lesion table and report into `out_dir`, all or
    nothing: everything goes to a hidden temporary folder that is renamed at the end.
    `extra(folder)`, when given, writes further files into that folder (the DICOM SEG);
    `run_id`, the cohort run writing it, goes into the report as "run"."""
    out_dir = Path(out_dir)
    with atomic_directory(out_dir, overwrite) as staging:
        if extra is not None:
            extra(staging)
        write_volume(detection.labels.with_array(detection.labels.array.astype(np.uint8)), staging / LABELS_FILE)
        for key, volume in detection.probabilities.items():
            write_volume(volume.with_array(volume.array.astype(np.float32)), staging / probability_file(key))
        write_lesion_table(detection.lesions, staging / LESION_TABLE_FILE, participant=detection.participant_id)
        report = {
            "participant": detection.participant_id,
            "model": detection.model.to_dict(),
            "deepmir_version": __version__,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "notes": detection.notes,
            "settings": detection.settings,
            "lesions": len(detection.lesions),
            "coordinates": "centroids in voxel indices (i, j, k) of the SWI file and in LPS millimetres",
        }
        if run_id is not None:
            report["run"] = run_id
        write_text_atomic(staging / REPORT_FILE, json.dumps(report, indent=2) + "\n")
    return out_dir


def read_detection(folder: Path | str, probabilities: bool = False) -> Detection:
    """A result folder written by `write_detection`; the probability maps only when asked."""
    folder = Path(folder)
    report_path = folder / REPORT_FILE
    if not report_path.is_file():
        raise InputError(folder, f"is not a DeepMIR result folder (no {REPORT_FILE})")
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
        model = ModelSummary.from_dict(report["model"])
        if not isinstance(report["participant"], str):
            raise TypeError("participant is not text")
    except (ValueError, KeyError, TypeError, RecursionError) as err:
        raise InputError(report_path, f"is not a readable DeepMIR result report ({type(err).__name__}: {err})") from None
    maps = {}
    if probabilities:
        maps = {c.key: read_volume(folder / probability_file(c.key)) for c in model.lesion_classes}
    return Detection(report["participant"], read_labels(folder / LABELS_FILE, LABEL_VALUES), maps,
                     read_lesions(folder / LESION_TABLE_FILE), model, list(report.get("notes", [])), settings=report.get("settings", {}))
