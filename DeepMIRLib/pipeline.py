"""One participant from images to a `Detection`: read the inputs (files or in-memory volumes),
bring every modality onto the SWI grid, preprocess, run the U-Net, map the result back onto
the SWI grid exactly, and extract lesions.

`detect` is the one entry point: the command line, the Slicer worker, the scene layer, the
demo, calibration and the experiments all call it, and write its result with
`results.write_detection`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from . import options
from .alignment import compute_brain_mask, n4_bias_correct, register_rigid
from .candidates import (
    Candidates,
    Classifier,
    apply_second_stage,
    decided_probabilities,
    likelier_lesion_class,
    probability_map,
    second_stage_proposals,
)
from .classes import BRAIN_MASK, MODALITIES
from .echotime import ECHO_TIME_AGREEMENT_MS, LONG_ECHO_NOTE_START, MISSING_ECHO_TIME, check_echo_time_ms, read_swi_echo_time, sidecar_path
from .errors import Cancelled, InputError
from .inference import ProgressCallback, is_cancelled, labels_from_probabilities, network_runtime, predict_probabilities
from .lesions import find_lesions, remove_lesions
from .modelfile import LoadedModel, ModelCard, load_model
from .preprocessing import stack_modalities
from .results import Detection
from .secondstagespec import SECOND_STAGE_CLASSES, SecondStageSpec
from .volumes import (
    Reorientation,
    Volume,
    check_overlap,
    check_volume,
    find_image,
    read_volume,
    resample_onto,
    same_grid,
    to_canonical,
)

StageCallback = Callable[[str], None]  # called with the name of each stage as it starts


@dataclass
class ParticipantInputs:
    """Input files of one participant; qsm, t2 and mask are optional. `swi_echo_time_ms`: the
    SWI's echo time as given (--swi-echo-time, BIDS metadata); `echo_time()` also reads it from
    the SWI's sidecar. Only a second stage that takes it (echotime) needs it."""

    participant_id: str
    swi: Path
    qsm: Path | None = None
    t2: Path | None = None
    mask: Path | None = None
    swi_echo_time_ms: float | None = None

    def __post_init__(self):
        for name in ("swi", *MODALITIES[1:], "mask"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, Path(value))

    def modality_paths(self) -> dict[str, Path]:
        return {m: getattr(self, m) for m in MODALITIES if getattr(self, m) is not None}

    def echo_time(self) -> float | None:
        """The SWI's echo time in ms: as given, else from its JSON sidecar, else None;
        InputError when both give one and they differ."""
        from_sidecar = read_swi_echo_time(self.swi)
        if self.swi_echo_time_ms is None:
            return from_sidecar
        given = check_echo_time_ms(self.swi_echo_time_ms, f"participant {self.participant_id}: SWI echo time")
        if from_sidecar is not None and abs(from_sidecar - given) > ECHO_TIME_AGREEMENT_MS:
            raise InputError(sidecar_path(self.swi), f"participant {self.participant_id}: the sidecar's echo time {from_sidecar:g} ms "
                                                     f"is not the {given:g} ms given")
        return given

    def read(self, needed: list[str]) -> ParticipantVolumes:
        """The modalities in `needed` and the brain mask, read from their files."""
        check_modalities(self.modality_paths(), needed, self.participant_id, self.swi.parent)
        volumes = {m: read_volume(path) for m, path in self.modality_paths().items() if m in needed}
        mask = read_volume(self.mask) if self.mask is not None else None
        return ParticipantVolumes(self.participant_id, volumes["swi"], volumes.get("qsm"), volumes.get("t2"), mask, self.swi_echo_time_ms)


@dataclass
class ParticipantVolumes:
    """One participant's images in memory (the scene layer's nodes, or files already read);
    qsm, t2 and mask are optional. Each Volume's `source` names it in error messages.
    `swi_echo_time_ms` as for ParticipantInputs."""

    participant_id: str
    swi: Volume
    qsm: Volume | None = None
    t2: Volume | None = None
    mask: Volume | None = None
    swi_echo_time_ms: float | None = None

    def modalities(self) -> dict[str, Volume]:
        return {m: getattr(self, m) for m in MODALITIES if getattr(self, m) is not None}

    def echo_time(self) -> float | None:
        """The SWI's echo time in ms as given, checked; None when not given."""
        return None if self.swi_echo_time_ms is None else check_echo_time_ms(self.swi_echo_time_ms, f"{self.swi.source}: SWI echo time")


def check_modalities(available: Iterable[str], needed: list[str], participant_id: str, source: object) -> None:
    """Raise InputError naming what is missing when `available` lacks a modality in `needed`."""
    missing = [m for m in needed if m not in available]
    if missing:
        raise InputError(
            source,
            f"participant {participant_id}: the model needs {', '.join(m.upper() for m in needed)}, "
            f"but no {', '.join(m.upper() for m in missing)} was given",
        )


def participant_from_folder(folder: Path | str) -> ParticipantInputs:
    """A participant folder holds swi, qsm, t2 and brainmask images (any supported format
    or a DICOM series folder of that name); only swi is required."""
    folder = Path(folder)
    swi = find_image(folder, "swi")
    if swi is None:
        raise InputError(folder, "no SWI image found (expected swi.nii.gz, swi.nrrd, swi.mha or a DICOM folder swi/)")
    return ParticipantInputs(folder.name, swi, find_image(folder, "qsm"), find_image(folder, "t2"), find_image(folder, BRAIN_MASK))


def discover_participants(folder: Path | str) -> list[ParticipantInputs]:
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


def _onto_swi_grid(name: str, volume: Volume, swi: Volume, register: str, n4: bool, notes: list[str]) -> Volume:
    if n4 and name == "t2":
        volume = n4_bias_correct(volume)
        notes.append("T2: N4 bias correction applied")
    on_grid = same_grid(volume, swi)
    if not on_grid:
        check_overlap(volume, swi)
    if name == "qsm":
        if not on_grid:
            notes.append(f"QSM {volume.source or ''}".rstrip() + " is not on the SWI grid: resampled onto it (linear), without registration")
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


def _brain_mask(participant: ParticipantVolumes, notes: list[str]) -> Volume:
    swi = participant.swi
    if participant.mask is None:
        notes.append("brain mask computed from SWI (no brain mask given)")
        return compute_brain_mask(swi)
    mask = participant.mask
    if not same_grid(mask, swi):
        check_overlap(mask, swi)
        mask = resample_onto(mask, swi, interpolator=sitk.sitkNearestNeighbor)
        notes.append("brain mask not on the SWI grid: resampled onto it (nearest neighbour)")
    mask = mask.with_array((mask.array > 0.5).astype(np.uint8))
    if not mask.array.any():
        raise InputError(participant.mask.source, "brain mask is empty")
    return mask


def prepare_participant(participant: ParticipantInputs | ParticipantVolumes, needed: list[str], register: str = "auto", n4: bool = False) -> PreparedParticipant:
    """Align the modalities a model needs (`needed`, SWI first) and turn them canonical."""
    if isinstance(participant, ParticipantInputs):
        participant = participant.read(needed)
    available = participant.modalities()
    check_modalities(available, needed, participant.participant_id, participant.swi.source)
    _check_volumes(participant, needed)
    notes: list[str] = []
    swi = participant.swi
    mask = _brain_mask(participant, notes)
    volumes = {"swi": swi}
    for name in needed[1:]:
        volumes[name] = _onto_swi_grid(name, available[name], swi, register, n4, notes)
    for name, volume in volumes.items():
        _check_contrast(volume, mask.array > 0, "inside the brain mask", _name(participant, name, volume))
    canonical_mask, reorientation = to_canonical(mask)
    canonical = {name: to_canonical(volume)[0].array for name, volume in volumes.items()}
    return PreparedParticipant(swi, canonical, canonical_mask.array, reorientation, mask, notes)


def _name(participant: ParticipantVolumes, name: str, volume: Volume) -> str:
    return volume.source or f"participant {participant.participant_id}: {name.upper()}"


def _check_volumes(participant: ParticipantVolumes, needed: list[str]) -> None:
    """Refuse, before anything is computed, volumes that `volumes.check_volume` refuses (files
    were checked when read; in-memory volumes, e.g. Slicer's nodes, are checked here) and
    images without contrast (blank or constant: nothing to detect, and the brain mask,
    registration and z-scoring would fail or divide by zero)."""
    volumes = {name: volume for name, volume in participant.modalities().items() if name in needed}
    for name, volume in {**volumes, BRAIN_MASK: participant.mask}.items():
        if volume is not None:
            check_volume(volume, _name(participant, name, volume))
    for name, volume in volumes.items():
        _check_contrast(volume, None, "in every voxel", _name(participant, name, volume))


def _check_contrast(volume: Volume, where: np.ndarray | None, place: str, source: str) -> None:
    values = volume.array if where is None else volume.array[where]
    if values.size and values.min() == values.max():
        raise InputError(source, f"holds the one value {values.flat[0].item():g} {place}: a blank or constant image, nothing to detect in")


def check_detection_options(batch_size: int, threshold: float, min_size: int, min_probability: float | dict[str, float] | None,
                            canvas: str | tuple[int, int] = "auto", device: str = "auto") -> None:
    """Refuse option values that would run and give wrong or empty output, with the checks
    the command line's parser uses (`options`), named by their command-line option."""
    options.whole_number(batch_size, "--batch-size", minimum=1)
    options.real_number(threshold, "--threshold", 0.0, 1.0, low_open=True)
    options.whole_number(min_size, "--min-size", minimum=1)
    values = min_probability.values() if isinstance(min_probability, dict) else [min_probability]
    for value in values:
        if value is not None:
            options.probability(value, "--min-probability")
    options.canvas(canvas)
    options.device(device)


def detect(
    participant: ParticipantInputs | ParticipantVolumes,
    model: LoadedModel | str | Path = "default",
    *,
    device: str = "auto",
    batch_size: int = 8,
    canvas: str | tuple[int, int] = "auto",
    threshold: float = 0.5,
    min_size: int = 1,
    min_probability: float | dict[str, float] | None = None,
    register: str = "auto",
    n4: bool = False,
    progress: ProgressCallback | None = None,
    stage: StageCallback | None = None,
    cancel: threading.Event | Callable[[], bool] | None = None,
    runtime: str = "auto",
    stages: int | None = None,
) -> Detection:
    """Detect microbleeds and iron deposits in one participant (files or in-memory volumes).

    `model`: a loaded model, a model file or a registry id. `min_probability`: drop lesions
    whose highest probability stays below this (one value, or per class key such as
    {"cmb": 0.7}); None takes the model card's postprocessing["min_lesion_probability"]
    (chosen on validation data by `deepmir calibrate`), 0 keeps every lesion of the arg-max.
    `progress(done, total)` follows the network over slices, `stage(name)` marks "loading
    model", "reading and aligning images" and "inference"; `cancel` (a threading.Event or a
    callable returning True) stops the work with errors.Cancelled. `runtime`: the networks (the
    U-Net, and the second stage's classifier) on "auto" (ONNX Runtime on the CPU when the fast
    extra is installed, else PyTorch), "torch" or "onnxruntime" (onnxrt), the same labels
    either way; or, asked for by name, on OpenVINO (openvinort) in "openvino" (bfloat16 where
    the CPU has it: labels may differ at lesion borders) or "openvino-f32", recorded in the
    settings. `stages`: 2 runs the card's second stage (secondstage: a 3-D classifier that
    keeps, relabels or removes each lesion the U-Net proposes, with the U-Net permissive:
    `min_probability` None means 0 for it) for the classes its card `decides` (all by default;
    a card may list one classifier per class; the others come from the U-Net alone:
    combine_stages), 1 the U-Net alone; None is 2 when the card has a second stage, else 1."""
    check_detection_options(batch_size, threshold, min_size, min_probability, canvas, device)
    if stages not in (None, 1, 2):
        raise InputError("--stages", f"must be 1 or 2, not {stages!r}")
    canvas = options.canvas(canvas)
    report = stage or (lambda name: None)
    report("loading model")
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    stages = resolve_stages(loaded, stages)
    available = participant.modality_paths() if isinstance(participant, ParticipantInputs) else participant.modalities()
    loaded.card.check_inputs(available, source=participant.swi if isinstance(participant, ParticipantInputs) else participant.swi.source)
    swi_echo_time_ms = needed_echo_time(loaded, stages, participant)
    echo_notes = long_echo_notes(loaded.card, stages, swi_echo_time_ms)
    report("reading and aligning images")
    prepared = prepare_participant(participant, loaded.card.inputs, register, n4)
    if is_cancelled(cancel):
        raise Cancelled("detection cancelled")
    report("inference")
    card = loaded.card
    stack = stack_modalities(prepared.canonical, card.inputs, prepared.mask)
    canonical_probabilities = predict_probabilities(loaded, stack, prepared.mask, device, batch_size, canvas, progress, cancel, runtime)
    canonical_labels = labels_from_probabilities(canonical_probabilities, [c.label for c in card.lesion_classes], threshold)
    second_stage_probability = None
    if stages == 2:
        running = [index for index, spec in enumerate(card.second_stages) if spec.applies_to(swi_echo_time_ms)]
        outcomes = apply_second_opinions(card, {
            index: _second_stage(loaded, index, stack, canonical_labels, canonical_probabilities, min_size, device, runtime, swi_echo_time_ms)
            for index in running}, swi_echo_time_ms)
        decisions = [(outcomes[index].labels, decided_labels(card, card.second_stages[index])) for index in running]
        source = stage_sources(canonical_labels.shape, decisions)
        second_stage_probability = prepared.reorientation.restore(
            combine_stage_probabilities(source, [outcomes[index].probability for index in running]))
        canonical_labels = combine_stages(canonical_labels, decisions, source)
    swi = prepared.swi
    probabilities = {c.key: swi.with_array(prepared.reorientation.restore(canonical_probabilities[k]))
                     for k, c in enumerate(card.lesion_classes)}
    by_label = {c.label: probabilities[c.key].array for c in card.lesion_classes}
    labels = swi.with_array(remove_lesions(prepared.reorientation.restore(canonical_labels), min_size, by_label,
                                           min_probability_by_label(card, min_probability, stages)))
    lesions = find_lesions(labels, by_label, min_size, brain_midline_x(prepared.mask_volume), card.lesion_classes,
                           second_stage_probability)
    settings = detection_settings(card, canvas, threshold, min_size, min_probability, register, n4, stages, runtime, swi_echo_time_ms)
    return Detection(participant.participant_id, labels, probabilities, lesions, card.summary(), [*prepared.notes, *echo_notes], prepared,
                     settings)


def resolve_stages(loaded: LoadedModel, stages: int | None) -> int:
    """1 or 2: `stages` as given, or 2 when the model has a second stage; InputError for 2
    without one."""
    if stages not in (None, 1, 2):
        raise InputError("--stages", f"must be 1 or 2, not {stages!r}")
    if stages == 2 and not loaded.has_second_stage:
        raise InputError("--stages 2", f"model '{loaded.card.name}' has no second stage")
    return stages or (2 if loaded.has_second_stage else 1)


def needed_echo_time(loaded: LoadedModel, stages: int, participant: ParticipantInputs | ParticipantVolumes) -> float | None:
    """The participant's SWI echo time (ms) when a second stage that runs takes it or has a
    long-echo minimum (SecondStageSpec.long_echo), a second opinion for short echo times or a
    classifier for some echo times only (SecondStageSpec.echo_times), else None; InputError, before any work, when
    a classifier takes it and it is not known (without it, a long-echo minimum is not applied:
    `long_echo_notes`)."""
    specs = loaded.card.second_stages if stages == 2 else ()
    if not any(spec.uses_echo_time or spec.long_echo or spec.second_opinion_below_ms or spec.echo_times for spec in specs):
        return None
    echo_time = participant.echo_time()
    if echo_time is None and any(spec.uses_echo_time for spec in specs):
        raise InputError(participant.swi if isinstance(participant, ParticipantInputs) else participant.swi.source,
                         f"participant {participant.participant_id}: {MISSING_ECHO_TIME}")
    return echo_time


def long_echo_notes(card: ModelCard, stages: int, swi_echo_time_ms: float | None) -> list[str]:
    """What a detection says of the card's rules that depend on the SWI's echo time: long-echo
    minimum probabilities (applied to this SWI, or not because its echo time is not known) and
    second opinions for short echo times (not applied to this SWI, or applied though its echo
    time is not known), and classifiers for some echo times only (the long-echo one ran, or the
    short-echo one ran because the echo time is not known)."""
    notes = []
    for spec in card.second_stages if stages == 2 else ():
        if not spec.long_echo:
            continue
        minimum = spec.long_echo_minimum_text()
        if swi_echo_time_ms is None:
            notes.append(f"{LONG_ECHO_NOTE_START} not known: the second stage's minimum probability for echo times from "
                         f"{spec.long_echo['from_ms']:g} ms ({minimum}) was not applied; give it (a JSON sidecar beside the SWI, or "
                         "--swi-echo-time)")
        elif swi_echo_time_ms >= spec.long_echo["from_ms"]:
            notes.append(f"{LONG_ECHO_NOTE_START} {swi_echo_time_ms:g} ms: the second stage's minimum probability for echo times from "
                         f"{spec.long_echo['from_ms']:g} ms applied ({minimum})")
    for spec in card.second_stages if stages == 2 else ():
        below = spec.second_opinion_below_ms
        if below is None:
            continue
        opinion = f"the second opinion on {', '.join(spec.second_opinion['min_probability'])} for echo times below {below:g} ms"
        if swi_echo_time_ms is None:
            notes.append(f"{LONG_ECHO_NOTE_START} not known: {opinion} was applied; give it (a JSON sidecar beside the SWI, or "
                         "--swi-echo-time)")
        elif not spec.takes_second_opinion(swi_echo_time_ms):
            notes.append(f"{LONG_ECHO_NOTE_START} {swi_echo_time_ms:g} ms: {opinion} was not applied")
    for spec in card.second_stages if stages == 2 else ():
        if not spec.echo_times or not spec.applies_to(swi_echo_time_ms):
            continue
        classifier = f"the {'/'.join(spec.decided_keys())} classifier {spec.echo_times_text()}"
        if swi_echo_time_ms is None:
            notes.append(f"{LONG_ECHO_NOTE_START} not known: {classifier} ran; give it (a JSON sidecar beside the SWI, or --swi-echo-time)")
        elif "from_ms" in spec.echo_times:
            notes.append(f"{LONG_ECHO_NOTE_START} {swi_echo_time_ms:g} ms: {classifier} ran")
    return notes


def _second_stage(loaded: LoadedModel, index: int, stack: np.ndarray, canonical_labels: np.ndarray,
                  canonical_probabilities: np.ndarray, min_size: int, device: str, runtime: str,
                  swi_echo_time_ms: float | None = None) -> StageOutcome:
    """The card's `index`-th second-stage classifier on a participant (StageOutcome): the
    canonical label map after it (candidates.apply_second_stage), the map of its probability of
    each kept candidate's class (candidates.probability_map; NaN elsewhere), its candidates and
    their scores. Candidates are the
    components of at least `min_size` voxels of its proposals (candidates.second_stage_proposals:
    the U-Net's arg-max, or where its lesion probabilities reach the section's `proposal`, and
    with `extrema` the small microbleeds it does not propose), classified where the U-Net runs
    (`_second_stage_classifier`)."""
    spec = loaded.card.second_stages[index]
    labels = [c.label for c in loaded.card.lesion_classes]
    proposals = second_stage_proposals(spec, canonical_labels, canonical_probabilities, labels, stack, loaded.card.inputs)
    candidates = remove_lesions(proposals, min_size)
    classifier = _second_stage_classifier(loaded, index, device, runtime)
    second_stage_labels, (found, scores, decisions) = apply_second_stage(classifier, spec, stack, candidates, canonical_probabilities, labels,
                                                                         spec.min_probability_for(swi_echo_time_ms), swi_echo_time_ms)
    return StageOutcome(second_stage_labels, probability_map(found, decided_probabilities(scores, decisions)), found, np.asarray(scores))


class StageOutcome(NamedTuple):
    """One second-stage classifier's result on a participant: its canonical label map, the map
    of its probability of each kept candidate's class (NaN elsewhere), its candidates and their
    scores (neither, cmb, iron)."""

    labels: np.ndarray
    probability: np.ndarray
    candidates: Candidates
    scores: np.ndarray


def apply_second_opinions(card: ModelCard, outcomes: dict[int, StageOutcome], swi_echo_time_ms: float | None = None) -> dict[int, StageOutcome]:
    """`outcomes` (by index in the card of each classifier that ran: SecondStageSpec.applies_to;
    one the opinion comes from runs at every echo time, ModelCard.validate) with each classifier's
    `second_opinion` applied (SecondStageSpec.second_opinion): a candidate it did not keep as a
    class it decides becomes that class where that class is the likelier of its two lesion
    classes (candidates.likelier_lesion_class, as in decide) at a probability of at least the
    opinion's minimum, and the other classifier's label map (before any opinion) has that class
    on any of its voxels.
    An opinion with `below_ms` applies only to an SWI whose echo time (`swi_echo_time_ms`) is
    not known to reach it."""
    opinions = {}
    for index, outcome in outcomes.items():
        spec = card.second_stages[index]
        if not spec.takes_second_opinion(swi_echo_time_ms):
            opinions[index] = outcome
            continue
        other = outcomes[spec.second_opinion["from"]].labels
        labels, probability = outcome.labels.copy(), outcome.probability.copy()
        boxes = ndimage.find_objects(outcome.candidates.components)
        likelier = likelier_lesion_class(outcome.scores)
        for key, minimum in spec.second_opinion["min_probability"].items():
            value = SECOND_STAGE_CLASSES.index(key)
            for k in np.flatnonzero((likelier == value) & (outcome.scores[:, value] >= minimum)):
                box = boxes[k]
                where = outcome.candidates.components[box] == k + 1
                if not np.any(labels[box][where] == value) and np.any(other[box][where] == value):
                    labels[box][where] = value
                    probability[box][where] = outcome.scores[k, value]
        opinions[index] = outcome._replace(labels=labels, probability=probability)
    return opinions


def decided_labels(card: ModelCard, spec: SecondStageSpec) -> list[int]:
    """The labels of the lesion classes a second-stage classifier of the card decides (its `decides`)."""
    keys = spec.decided_keys()
    return [c.label for c in card.lesion_classes if c.key in keys]


def combine_stages(unet_labels: np.ndarray, decisions: list[tuple[np.ndarray, list[int]]], source: np.ndarray | None = None) -> np.ndarray:
    """The label map of a two-stage detection from each classifier's label map and the labels
    it decides (`decisions`, in the card's order): each classifier's lesions of its decided
    labels where no earlier one put a lesion, then the U-Net's arg-max of the labels none
    decides where no classifier put one (a U-Net iron deposit that the second stage called a
    microbleed stays a microbleed). The U-Net's lesions then pass its own calibrated minimum
    probability (min_probability_by_label). `source`: stage_sources of `decisions`, where
    already computed."""
    source = stage_sources(unet_labels.shape, decisions) if source is None else source
    combined = np.zeros_like(unet_labels)
    for index, (second_stage_labels, _) in enumerate(decisions):
        combined[source == index] = second_stage_labels[source == index]
    decided = [label for _, labels in decisions for label in labels]
    from_unet = (combined == 0) & (unet_labels > 0) & ~np.isin(unet_labels, decided)
    combined[from_unet] = unet_labels[from_unet]
    return combined


def stage_sources(shape: tuple[int, ...], decisions: list[tuple[np.ndarray, list[int]]]) -> np.ndarray:
    """For each voxel of a map of `shape`, the index (in the card's order) of the classifier
    whose lesion combine_stages puts there: the first whose label map has one of its decided
    labels there; -1 where none has."""
    source = np.full(shape, -1, dtype=np.int8)
    for index, (second_stage_labels, decided) in enumerate(decisions):
        source[(source < 0) & np.isin(second_stage_labels, decided)] = index
    return source


def combine_stage_probabilities(source: np.ndarray, probabilities: list[np.ndarray]) -> np.ndarray:
    """The second stage's probability map that goes with combine_stages' labels: each voxel
    takes the map (candidates.probability_map) of the classifier whose lesion is there
    (`source`, stage_sources); NaN where the lesion, if any, is the U-Net's."""
    combined = np.full(source.shape, np.nan, dtype=np.float32)
    for index, probability in enumerate(probabilities):
        combined[source == index] = probability[source == index]
    return combined


def _second_stage_classifier(loaded: LoadedModel, index: int, device: str, runtime: str) -> Classifier:
    """The card's `index`-th second-stage classifier on ONNX Runtime or OpenVINO
    (onnxrt.second_stage_for, openvinort.second_stage_for: no torch once its export is in the
    cache) where `runtime` and `device` run the U-Net there (inference.network_runtime), else
    on PyTorch (secondstage.torch_classifier, on the CPU)."""
    chosen = network_runtime(runtime, device)
    if chosen == "onnxruntime":
        from . import onnxrt

        return onnxrt.second_stage_for(loaded, index)
    if chosen == "openvino":
        from . import openvinort

        return openvinort.second_stage_for(loaded, runtime, index)
    from .secondstage import torch_classifier

    return torch_classifier(loaded.second_stage_network(index))


def detection_settings(card: ModelCard, canvas: str | tuple[int, int], threshold: float, min_size: int,
                       min_probability: float | dict[str, float] | None, register: str, n4: bool,
                       stages: int = 1, runtime: str = "auto", swi_echo_time_ms: float | None = None) -> dict:
    """The options that decide a detection's output, as plain JSON values (the minimum lesion
    probability resolved per class key, so a calibrated copy of the same weights differs;
    with the second stage, `stages` 2 and its minimum probabilities; on OpenVINO or ONNX
    Runtime in int8, `runtime` and the precision it runs in: openvinort.settings,
    onnxrt.settings; float32 runtimes give the same labels and record nothing; the SWI's echo
    time where a classifier took it: `needed_echo_time`)."""
    from . import onnxrt, openvinort

    by_label = min_probability_by_label(card, min_probability, stages)
    second = {}
    if stages == 2 and len(card.second_stages) == 1:
        second = {"stages": 2, **_second_stage_settings(card.second_stage, swi_echo_time_ms)}
    elif stages == 2:
        second = {"stages": 2, "second_stages": [_second_stage_settings(spec, swi_echo_time_ms) for spec in card.second_stages]}
    return {
        "canvas": canvas if canvas == "auto" else [int(side) for side in canvas],
        "threshold": float(threshold),
        "min_size": int(min_size),
        "min_probability": {c.key: by_label[c.label] for c in card.lesion_classes},
        "register": register,
        "n4": bool(n4),
        **second,
        **openvinort.settings(runtime),
        **onnxrt.settings(runtime),
        **({"swi_echo_time_ms": swi_echo_time_ms} if swi_echo_time_ms is not None else {}),
    }


def _second_stage_settings(spec: SecondStageSpec, swi_echo_time_ms: float | None = None) -> dict:
    """What a detection records of a second-stage classifier's section: the minimum
    probabilities it applied (for this echo time: SecondStageSpec.min_probability_for), and its
    long-echo rule, proposal, extrema, decided classes, kept U-Net lesions, candidates spared
    from suppression, flip averaging, second opinion (and whether it applied to this echo
    time) and the echo times it runs for (and whether it ran) where the card gives them."""
    long_echo = {key: spec.long_echo[key] for key in ("from_ms", "min_probability")} if spec.long_echo else None
    return {"second_stage_min_probability": spec.min_probability_for(swi_echo_time_ms),
            **({"second_stage_long_echo": long_echo} if long_echo else {}),
            **({"second_stage_proposal": spec.proposal} if spec.proposal else {}),
            **({"second_stage_extrema": dict(spec.extrema)} if spec.extrema else {}),
            **({"second_stage_decides": list(spec.decides)} if spec.decides else {}),
            **({"second_stage_keep_unet": dict(spec.keep_unet)} if spec.keep_unet else {}),
            **({"second_stage_suppression_spares": dict(spec.suppression_spares)} if spec.suppression_spares else {}),
            **({"second_stage_average_flips": True} if spec.average_flips else {}),
            **({"second_stage_second_opinion": {**spec.second_opinion, "applied": spec.takes_second_opinion(swi_echo_time_ms)}}
               if spec.second_opinion else {}),
            **({"second_stage_echo_times": {**spec.echo_times, "ran": spec.applies_to(swi_echo_time_ms)}} if spec.echo_times else {})}


def min_probability_by_label(card: ModelCard, min_probability: float | dict[str, float] | None, stages: int = 1) -> dict[int, float]:
    if min_probability is None:
        min_probability = card.postprocessing.get("min_lesion_probability", {})
        if stages == 2:  # the U-Net runs permissive for the classes the second stage decides
            decided = card.second_stage_decides()
            min_probability = {c.key: 0.0 if c.key in decided else min_probability.get(c.key, 0.0) for c in card.lesion_classes}
    if not isinstance(min_probability, dict):
        min_probability = {c.key: float(min_probability) for c in card.lesion_classes}
    unknown = sorted(set(min_probability) - {c.key for c in card.lesion_classes})
    if unknown:  # a misspelt class would silently keep every lesion of the class meant
        raise InputError("--min-probability", f"names classes {unknown} that model '{card.name}' does not have "
                                              f"({', '.join(c.key for c in card.lesion_classes)})")
    return {c.label: float(min_probability.get(c.key, 0.0)) for c in card.lesion_classes}


def brain_midline_x(mask: Volume) -> float:
    """LPS x (left-right) of the brain mask's centroid: the reference for 'hemisphere'."""
    z, y, x = np.nonzero(mask.array)
    centroid = mask.index_to_lps(np.array([x.mean(), y.mean(), z.mean()]))
    return float(centroid[0])
