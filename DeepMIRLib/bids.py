"""BIDS in, BIDS derivatives out (the `bids` extra: pybids).

In: a BIDS dataset (dataset_description.json at the root) is read with pybids; each subject,
and each session of it, is one participant (`sub-01`, `sub-01_ses-2`), with its images found
in `anat` by their BIDS suffix:
    SWI   suffix `swi` (the SWI proposal, BEP004), or `T2starw` whose `acq` label contains "swi"
    QSM   suffix `Chimap` (BIDS's quantitative susceptibility map)
    T2    suffix `T2w`
    brain mask  suffix `mask` with `desc-brain` (optional)
A subject or session with none, or several, of an image is a participant with an error.

Out (`--bids-derivatives`): OUT is a BIDS derivatives dataset:
    dataset_description.json   DatasetType derivative, GeneratedBy DeepMIR (version, model)
    README                     what the files are
    .bidsignore                cohort.tsv and the lesion tables (BIDS has no such files)
    sub-01/[ses-1/]anat/sub-01[_ses-1]_desc-deepmir_dseg.nii.gz    0/1/2 on the SWI grid
        ..._desc-deepmir_dseg.tsv        the label lookup table (index, name, abbreviation, color)
        ..._desc-deepmir_dseg.json       sidecar: sources, and under "DeepMIR" the model,
                                         settings and notes (what prediction.json holds)
        ..._label-<class>_desc-deepmir_probseg.nii.gz (and .json)   probability per class
        ..._desc-deepmir_lesions.tsv     the lesion table (n/a for empty values), and
        ..._desc-deepmir_lesions.json    its column descriptions
Each anat folder is written all or nothing (atomic.atomic_directory).
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
from pathlib import Path

import numpy as np

from . import __version__
from .atomic import atomic_directory, write_text_atomic
from .cohort import ParticipantTask, complete_report, table_row
from .errors import DeepMIRError, InputError
from .lesions import TABLE_COLUMNS, Lesion
from .results import ModelSummary
from .volumes import write_volume

BIDS_VERSION = "1.10.0"
DESC = "deepmir"
IMAGE_EXTENSIONS = [".nii", ".nii.gz"]
SWI_ACQUISITION = re.compile(r"_acq-[A-Za-z0-9]*swi[A-Za-z0-9]*_", re.IGNORECASE)
LESION_COLUMNS = {
    "lesion_id": ("Lesion number within the participant, from 1", None),
    "label": ("Value of the lesion's voxels in the dseg image", None),
    "class": ("Lesion class", None),
    "voxels": ("Number of voxels (26-connected component)", None),
    "volume_mm3": ("Volume", "mm^3"),
    "centroid_i": ("Centroid, voxel index along the first axis of the image", None),
    "centroid_j": ("Centroid, voxel index along the second axis of the image", None),
    "centroid_k": ("Centroid, voxel index along the third axis of the image", None),
    "centroid_lps_x": ("Centroid, patient x (LPS: +x left)", "mm"),
    "centroid_lps_y": ("Centroid, patient y (LPS: +y posterior)", "mm"),
    "centroid_lps_z": ("Centroid, patient z (LPS: +z superior)", "mm"),
    "prob_max": ("Highest probability of the lesion's class over its voxels", None),
    "prob_mean": ("Mean probability of the lesion's class over its voxels", None),
    "second_stage_prob": (("The second-stage classifier's probability of the lesion's class (highest over the candidates "
                           "the lesion holds); empty for the U-Net alone and for lesions no classifier decided"), None),
    "bbox_i_min": ("Bounding box, lowest voxel index along the first axis", None),
    "bbox_j_min": ("Bounding box, lowest voxel index along the second axis", None),
    "bbox_k_min": ("Bounding box, lowest voxel index along the third axis", None),
    "bbox_i_max": ("Bounding box, highest voxel index along the first axis", None),
    "bbox_j_max": ("Bounding box, highest voxel index along the second axis", None),
    "bbox_k_max": ("Bounding box, highest voxel index along the third axis", None),
    "hemisphere": ("Side of the brain mask's centroid the lesion lies on (left or right)", None),
}


# BIDS has no file for a lesion table, nor for DeepMIR's cohort table: the validator is told to
# leave them be
BIDS_IGNORED = ("cohort.tsv", "*_lesions.tsv", "*_lesions.json")
README = """DeepMIR detections of cerebral microbleeds (label 1) and non-hemorrhage iron deposits (label 2)
in SWI (with QSM and T2 where the model takes them), made by DeepMIR with {model}.
Research use only: not a medical device, no clinical validation.

Per participant and session, in anat/: *_desc-deepmir_dseg.nii.gz (labels on the SWI image's
grid, lookup table *_dseg.tsv, provenance in *_dseg.json under "DeepMIR"),
*_label-<class>_desc-deepmir_probseg.nii.gz (probability per class), and
*_desc-deepmir_lesions.tsv (one row per lesion; columns described in *_lesions.json).
cohort.tsv: lesion counts and volumes per participant.
"""


def is_bids_dataset(folder) -> bool:
    return (Path(folder) / "dataset_description.json").is_file()


def _layout(root: Path):
    try:
        import bids
    except ImportError:
        raise DeepMIRError(f"{root} is a BIDS dataset; reading it needs pybids: pip install 'DeepMIRLib[bids]'") from None
    try:
        return bids.BIDSLayout(str(root), validate=False)
    except Exception as err:  # noqa: BLE001 - pybids raises its own error types
        raise InputError(root, f"cannot be read as a BIDS dataset ({type(err).__name__}: {err})") from None


def prefix(subject: str, session: str | None) -> str:
    """The start of a participant's BIDS file names: sub-01 or sub-01_ses-2."""
    return f"sub-{subject}" + (f"_ses-{session}" if session else "")


def bids_tasks(root, out, derivatives: bool = False) -> list[ParticipantTask]:
    """One task per subject and session of the BIDS dataset at `root`, sorted; results in
    `out`/<sub-01_ses-1> (DeepMIR's layout) or, with `derivatives`, in
    `out`/sub-01/ses-1/anat (a BIDS derivatives dataset)."""
    from .pipeline import ParticipantInputs

    root, out = Path(root), Path(out)
    layout = _layout(root)
    tasks = []
    for subject in sorted(layout.get_subjects()):
        sessions = sorted(layout.get_sessions(subject=subject)) or [None]
        for session in sessions:
            name = prefix(subject, session)
            out_dir = out / f"sub-{subject}" / (f"ses-{session}" if session else "") / "anat" if derivatives else out / name
            try:
                images = _images(layout, root, subject, session)
                inputs = ParticipantInputs(name, images["swi"], images.get("qsm"), images.get("t2"), images.get("mask"),
                                           _echo_time_ms(layout, images["swi"]))
                tasks.append(ParticipantTask(name, out_dir, inputs, file_prefix=name))
            except InputError as problem:
                tasks.append(ParticipantTask(name, out_dir, problem=problem, file_prefix=name))
    if not tasks:
        raise InputError(root, "BIDS dataset holds no subject")
    return tasks


def _echo_time_ms(layout, swi: Path) -> float | None:
    """The SWI's EchoTime (seconds in BIDS, here ms) from its metadata, sidecars inherited from
    higher folders included; None when absent or not one number (then only a second stage that
    takes the echo time fails, with the sidecar named: pipeline.ParticipantInputs.echo_time)."""
    seconds = layout.get_metadata(str(swi)).get("EchoTime")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        return None
    return round(seconds * 1000.0, 6)


def _images(layout, root: Path, subject: str, session: str | None) -> dict[str, Path]:
    query = {"subject": subject, "session": session, "datatype": "anat", "extension": IMAGE_EXTENSIONS, "return_type": "filename"}
    swi = layout.get(suffix="swi", **query) + [f for f in layout.get(suffix="T2starw", **query) if SWI_ACQUISITION.search(Path(f).name)]
    swi = [f for f in swi if "_part-phase" not in Path(f).name]
    found = {"swi": swi, "qsm": layout.get(suffix="Chimap", **query), "t2": layout.get(suffix="T2w", **query),
             "mask": [f for f in layout.get(suffix="mask", **query) if "_desc-brain_" in Path(f).name]}
    where = root / f"sub-{subject}" / (f"ses-{session}" if session else "") / "anat"
    if not found["swi"]:
        raise InputError(where, f"{prefix(subject, session)} has no SWI image (looked for *_swi.nii[.gz], or *_acq-<...swi...>_T2starw.nii[.gz])")
    images = {}
    for modality, files in found.items():
        if len(files) > 1:
            names = ", ".join(Path(f).name for f in sorted(files))
            raise InputError(where, f"{prefix(subject, session)} has {len(files)} {modality.upper()} images ({names}); keep one per session")
        if files:
            images[modality] = Path(files[0])
    return images


def participant_label(name: str) -> str:
    """A BIDS subject label for a participant folder's name: sub-01 -> 01, sim-41-0000 -> sim410000."""
    label = re.sub(r"[^A-Za-z0-9]", "", name.removeprefix("sub-"))
    if not label:
        raise InputError(name, "gives no BIDS subject label (letters and digits)")
    return label


def as_derivatives(tasks: list[ParticipantTask], out) -> list[ParticipantTask]:
    """Tasks of participant folders, writing to a BIDS derivatives dataset in `out` instead."""
    result = []
    for task in tasks:
        label = participant_label(task.participant_id)
        result.append(ParticipantTask(task.participant_id, Path(out) / f"sub-{label}" / "anat", task.inputs, task.problem, f"sub-{label}"))
    return result


class DerivativesLayout:
    """A BIDS derivatives dataset (module docstring); `source` the BIDS dataset read, if any."""

    def __init__(self, source: Path | None = None):
        self.source = Path(source).absolute() if source is not None else None

    def prepare(self, out: Path, model) -> None:
        summary = model.card.summary()
        description = {
            "Name": "DeepMIR detections of cerebral microbleeds and iron deposits",
            "BIDSVersion": BIDS_VERSION,
            "DatasetType": "derivative",
            "GeneratedBy": [{
                "Name": "DeepMIR",
                "Version": __version__,
                "Description": f"model {summary.name} {summary.version} (task {summary.task}, inputs "
                               f"{', '.join(summary.inputs)}, weights sha256 {summary.sha256})",
            }],
        }
        if self.source is not None:
            description["DatasetLinks"] = {"raw": self.source.as_uri()}
            description["SourceDatasets"] = [{"URL": self.source.as_uri()}]
        write_text_atomic(out / "dataset_description.json", json.dumps(description, indent=2) + "\n")
        write_text_atomic(out / ".bidsignore", "".join(f"{pattern}\n" for pattern in BIDS_IGNORED))
        write_text_atomic(out / "README", README.format(model=description["GeneratedBy"][0]["Description"]))

    def names(self, task: ParticipantTask, model: ModelSummary) -> dict[str, str]:
        start = f"{task.file_prefix}_desc-{DESC}"
        names = {"dseg": f"{start}_dseg.nii.gz", "dseg_table": f"{start}_dseg.tsv", "sidecar": f"{start}_dseg.json",
                 "lesions": f"{start}_lesions.tsv", "lesions_sidecar": f"{start}_lesions.json"}
        for lesion_class in model.lesion_classes:
            names[f"prob_{lesion_class.key}"] = f"{task.file_prefix}_label-{lesion_class.key}_desc-{DESC}_probseg.nii.gz"
            names[f"prob_{lesion_class.key}_sidecar"] = f"{task.file_prefix}_label-{lesion_class.key}_desc-{DESC}_probseg.json"
        return names

    def write(self, detection, task: ParticipantTask, overwrite: bool, run_id: str | None = None) -> None:
        names = self.names(task, detection.model)
        with atomic_directory(task.out_dir, overwrite) as staging:
            write_volume(detection.labels.with_array(detection.labels.array.astype(np.uint8)), staging / names["dseg"])
            for key, volume in detection.probabilities.items():
                write_volume(volume.with_array(volume.array.astype(np.float32)), staging / names[f"prob_{key}"])
                probability_sidecar = {"Description": f"Probability of {key} by DeepMIR, on the grid of the SWI image",
                                       **self._reference(task)}
                (staging / names[f"prob_{key}_sidecar"]).write_text(json.dumps(probability_sidecar, indent=2) + "\n", encoding="utf-8")
            (staging / names["dseg_table"]).write_text(_lookup_table(detection.model), encoding="utf-8")
            (staging / names["sidecar"]).write_text(json.dumps(self._sidecar(detection, task, run_id), indent=2) + "\n", encoding="utf-8")
            (staging / names["lesions"]).write_text(_lesion_table(detection.lesions), encoding="utf-8")
            (staging / names["lesions_sidecar"]).write_text(json.dumps(_lesion_columns(), indent=2) + "\n", encoding="utf-8")

    def _sidecar(self, detection, task: ParticipantTask, run_id: str | None = None) -> dict:
        sidecar = {"Description": "Cerebral microbleeds (1) and non-hemorrhage iron deposits (2) found by DeepMIR, "
                                  "on the grid of the SWI image", "Manual": False, **self._reference(task)}
        if "SpatialReference" in sidecar:
            sidecar["Sources"] = [sidecar["SpatialReference"]]
        sidecar["DeepMIR"] = {
            "participant": detection.participant_id,
            "model": detection.model.to_dict(),
            "deepmir_version": __version__,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "settings": detection.settings,
            "notes": detection.notes,
        }
        if run_id is not None:
            sidecar["DeepMIR"]["run"] = run_id
        return sidecar

    def _reference(self, task: ParticipantTask) -> dict:
        """{"SpatialReference": the SWI image as a BIDS URI} when the input is a BIDS dataset."""
        swi = getattr(task.inputs, "swi", None)
        if self.source is None or swi is None:
            return {}
        try:
            return {"SpatialReference": f"bids:raw:{Path(swi).absolute().relative_to(self.source).as_posix()}"}
        except ValueError:
            return {}

    def report(self, task: ParticipantTask, model: ModelSummary) -> dict | None:
        names = self.names(task, model)
        return complete_report(task.out_dir / names["sidecar"], [task.out_dir / name for name in names.values()], model)

    def row(self, task: ParticipantTask) -> dict:
        sidecar = json.loads((task.out_dir / f"{task.file_prefix}_desc-{DESC}_dseg.json").read_text(encoding="utf-8"))
        return table_row(task.participant_id, sidecar["DeepMIR"], task.out_dir / f"{task.file_prefix}_desc-{DESC}_lesions.tsv")


def _lookup_table(model: ModelSummary) -> str:
    lines = ["index\tname\tabbreviation\tcolor"]
    lines += [f"{c.label}\t{c.name}\t{c.key.upper()}\t{c.color}" for c in model.lesion_classes]
    return "\n".join(lines) + "\n"


def _lesion_table(lesions: list[Lesion]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, TABLE_COLUMNS, delimiter="\t", lineterminator="\n")
    writer.writeheader()
    for lesion in lesions:
        writer.writerow({key: "n/a" if value == "" else value for key, value in lesion.row().items()})
    return buffer.getvalue()


def _lesion_columns() -> dict:
    columns = {}
    for name, (description, units) in LESION_COLUMNS.items():
        columns[name] = {"Description": description, **({"Units": units} if units else {})}
    return columns
