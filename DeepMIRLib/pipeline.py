"""One participant from files to outputs: find the inputs, bring every modality onto the SWI
grid, preprocess, run the U-Net, map the result back onto the SWI grid, extract lesions,
and write everything atomically.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from . import __version__
from .atomic import atomic_directory, write_text_atomic
from .alignment import compute_brain_mask, n4_bias_correct, register_rigid
from .errors import InputError
from .inference import labels_from_probabilities, predict_probabilities
from .lesions import find_lesions, remove_lesions, write_lesion_table
from .modelfile import MODALITIES, LoadedModel
from .preprocessing import stack_modalities
from .volumes import (
    Reorientation,
    Volume,
    check_overlap,
    find_image,
    read_volume,
    resample_onto,
    same_grid,
    to_canonical,
    write_volume,
)

MASK_STEM = "brainmask"
LABELS_FILE = "labels.nii.gz"
LESION_TABLE_FILE = "lesions.tsv"
REPORT_FILE = "prediction.json"


@dataclass
class ParticipantInputs:
    """Input files of one participant; qsm, t2 and mask are optional."""

    participant_id: str
    swi: Path
    qsm: Path | None = None
    t2: Path | None = None
    mask: Path | None = None

    def modality_paths(self) -> dict[str, Path]:
        return {m: getattr(self, m) for m in MODALITIES if getattr(self, m) is not None}


def participant_from_folder(folder) -> ParticipantInputs:
    """A participant folder holds swi, qsm, t2 and brainmask images (any supported format
    or a DICOM series folder of that name); only swi is required."""
    folder = Path(folder)
    swi = find_image(folder, "swi")
    if swi is None:
        raise InputError(folder, "no SWI image found (expected swi.nii.gz, swi.nrrd, swi.mha or a DICOM folder swi/)")
    return ParticipantInputs(folder.name, swi, find_image(folder, "qsm"), find_image(folder, "t2"), find_image(folder, MASK_STEM))


def discover_participants(folder) -> list[ParticipantInputs]:
    """A participant folder itself, or a folder of participant folders (sorted by name)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "input folder not found")
    if find_image(folder, "swi") is not None:
        return [participant_from_folder(folder)]
    participants = [participant_from_folder(sub) for sub in sorted(folder.iterdir()) if sub.is_dir() and find_image(sub, "swi") is not None]
    if not participants:
        raise InputError(folder, "holds no participant: no swi image in it or in any of its sub-folders")
    return participants


@dataclass
class PreparedParticipant:
    """Every needed modality on the SWI grid, turned to the canonical (LPS) orientation."""

    swi: Volume  # on its own (original) grid: where outputs are written
    canonical: dict[str, np.ndarray]
    mask: np.ndarray  # canonical brain mask
    reorientation: Reorientation
    mask_volume: Volume  # brain mask on the SWI grid
    notes: list[str] = field(default_factory=list)


def _onto_swi_grid(name: str, path: Path, swi: Volume, mask: Volume, register: str, n4: bool, notes: list[str]) -> Volume:
    volume = read_volume(path)
    if n4 and name == "t2":
        volume = n4_bias_correct(volume)
        notes.append("T2: N4 bias correction applied")
    on_grid = same_grid(volume, swi)
    if not on_grid:
        check_overlap(volume, swi)
    if name == "qsm":
        if not on_grid:
            notes.append(f"QSM {path} is not on the SWI grid: resampled onto it (linear), without registration")
            return resample_onto(volume, swi)
        return volume
    if register == "always" or (register == "auto" and not on_grid):
        transform = register_rigid(volume, swi)
        notes.append(f"{name.upper()}: rigidly registered to SWI (mutual information) and resampled onto its grid")
        return resample_onto(volume, swi, transform)
    if not on_grid:
        notes.append(f"{name.upper()}: resampled onto the SWI grid without registration (--register never)")
        return resample_onto(volume, swi)
    return volume


def prepare_participant(inputs: ParticipantInputs, needed: list[str], register: str = "auto", n4: bool = False) -> PreparedParticipant:
    """Read and align the modalities a model needs (`needed`, SWI first)."""
    available = inputs.modality_paths()
    missing = [m for m in needed if m not in available]
    if missing:
        raise InputError(
            inputs.swi.parent,
            f"participant {inputs.participant_id}: the model needs {', '.join(m.upper() for m in needed)}, but no {', '.join(m.upper() for m in missing)} was given",
        )
    notes: list[str] = []
    swi = read_volume(inputs.swi)
    if inputs.mask is not None:
        mask = read_volume(inputs.mask)
        if not same_grid(mask, swi):
            check_overlap(mask, swi)
            mask = resample_onto(mask, swi, interpolator=sitk.sitkNearestNeighbor)
            notes.append("brain mask not on the SWI grid: resampled onto it (nearest neighbour)")
        mask = mask.with_array((mask.array > 0.5).astype(np.uint8))
        if not mask.array.any():
            raise InputError(inputs.mask, "brain mask is empty")
    else:
        mask = compute_brain_mask(swi)
        notes.append("brain mask computed from SWI (no brain mask given)")
    volumes = {"swi": swi}
    for name in needed[1:]:
        volumes[name] = _onto_swi_grid(name, available[name], swi, mask, register, n4, notes)
    canonical_mask, reorientation = to_canonical(mask)
    canonical = {name: to_canonical(volume)[0].array for name, volume in volumes.items()}
    return PreparedParticipant(swi, canonical, canonical_mask.array, reorientation, mask, notes)


@dataclass
class Prediction:
    labels: Volume  # 0/1/2 on the SWI grid
    probabilities: dict[str, Volume]  # class key -> probability map on the SWI grid
    lesions: list
    notes: list[str]


def predict_participant(
    model: LoadedModel,
    prepared: PreparedParticipant,
    device="auto",
    batch_size: int = 8,
    canvas="auto",
    threshold: float = 0.5,
    min_voxels: int = 1,
    progress=None,
    cancel=None,
    min_probability: float | dict[str, float] | None = None,
) -> Prediction:
    """Run the model on a prepared participant; results on the SWI grid.

    `min_probability`: drop lesions whose highest probability stays below this (one value,
    or per class key such as {"cmb": 0.7}); None takes the model card's
    postprocessing["min_lesion_probability"] (chosen on validation data by `deepmir
    calibrate`), 0 keeps every lesion of the arg-max."""
    card = model.card
    stack = stack_modalities(prepared.canonical, card.inputs, prepared.mask)
    canonical_probabilities = predict_probabilities(model, stack, prepared.mask, device, batch_size, canvas, progress, cancel)
    class_labels = [c["label"] for c in card.classes]
    canonical_labels = labels_from_probabilities(canonical_probabilities, class_labels, threshold)
    swi = prepared.swi
    probabilities = {
        c["key"]: swi.with_array(prepared.reorientation.restore(canonical_probabilities[k]))
        for k, c in enumerate(card.classes)
    }
    by_label = {c["label"]: probabilities[c["key"]].array for c in card.classes}
    labels = swi.with_array(remove_lesions(prepared.reorientation.restore(canonical_labels), min_voxels, by_label,
                                           _min_probability_by_label(card, min_probability)))
    lesions = find_lesions(labels, by_label, min_voxels, brain_midline_x(prepared.mask_volume), card.lesion_classes)
    return Prediction(labels, probabilities, lesions, list(prepared.notes))


def _min_probability_by_label(card, min_probability) -> dict[int, float]:
    if min_probability is None:
        min_probability = card.postprocessing.get("min_lesion_probability", {})
    if not isinstance(min_probability, dict):
        min_probability = {c["key"]: float(min_probability) for c in card.classes}
    return {c["label"]: float(min_probability.get(c["key"], 0.0)) for c in card.classes}


def brain_midline_x(mask: Volume) -> float:
    """LPS x (left-right) of the brain mask's centroid: the reference for 'hemisphere'."""
    z, y, x = np.nonzero(mask.array)
    centroid = mask.index_to_lps(np.array([x.mean(), y.mean(), z.mean()]))
    return float(centroid[0])


def write_prediction(prediction: Prediction, out_dir, participant_id: str, model: LoadedModel, overwrite: bool = False) -> Path:
    """Write label map, probability maps, lesion table and a JSON report into `out_dir`,
    all or nothing: everything goes to a hidden temporary folder that is renamed at the end."""
    out_dir = Path(out_dir)
    with atomic_directory(out_dir, overwrite) as staging:
        write_volume(prediction.labels.with_array(prediction.labels.array.astype(np.uint8)), staging / LABELS_FILE)
        for key, volume in prediction.probabilities.items():
            write_volume(volume.with_array(volume.array.astype(np.float32)), staging / f"prob_{key}.nii.gz")
        write_lesion_table(prediction.lesions, staging / LESION_TABLE_FILE, participant=participant_id)
        report = {
            "participant": participant_id,
            "model": {"name": model.card.name, "version": model.card.version, "task": model.card.task, "inputs": model.card.inputs},
            "deepmir_version": __version__,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "notes": prediction.notes,
            "lesions": len(prediction.lesions),
            "coordinates": "centroids in voxel indices (i, j, k) of the SWI file and in LPS millimetres",
        }
        write_text_atomic(staging / REPORT_FILE, json.dumps(report, indent=2) + "\n")
    return out_dir
