"""Evaluation of detections against reference labels, for every part of DeepMIR that scores
a model: `deepmir evaluate`, `deepmir experiment`, `deepmir calibrate` and training's
validation.

The per-participant maths of the paper (sections 2.5-2.6: components, centroid matching,
counts, summaries, the rank-sum test, the Table 3 layout) are in `metrics`; this module
applies them to files, folders and cohorts:

- `read_reference`: a label map reduced to what a model of one task is asked to find;
- `label_files`, `evaluate_folder`, `evaluate_cohort`: a folder of predictions against a
  folder of references, participant by participant, each class matched once; where the
  simulator's `mimics` map lies beside a reference, the same matching also counts the false
  positives on each kind of mimic;
- `table3_row`: one class of one model as a Table 3 row, with rank-sum tests against a
  baseline model;
- `IoUAccumulator`: the per-class intersection over union by which training picks its epoch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .atomic import write_json_atomic, write_text_atomic
from .classes import CMB, IRON, LABEL_VALUES, LesionClass, classes_for_task, reference_for_task
from .errors import InputError
from .metrics import (
    RANK_SUM_MEASURES,
    ClassResult,
    Table3Row,
    evaluate_participant,
    matching_tolerances,
    mimic_counts,
    pooled_markdown,
    rank_sum_test,
    summarize_class,
    table3_markdown,
    write_lesion_outcomes_csv,
    write_per_participant_csv,
)
from .simulation.objects import MIMIC_LABELS
from .volumes import IMAGE_SUFFIXES, Volume, find_image, read_labels

MIMIC_NAMES = {value: name for name, value in MIMIC_LABELS.items()}  # mimic kind -> name
LESION_OUTCOMES_FILE = "lesions.csv"

Results = dict[str, dict[int, ClassResult]]  # participant -> label value -> result


def read_reference(path: str | Path, task: str) -> Volume:
    """A 0/1/2 label map read from `path` and reduced to what a model of `task` is asked to
    find (classes.reference_for_task). Predictions are read the same way, so that a
    multi-class prediction can be scored as a union or a single-class one."""
    labels = read_labels(path, LABEL_VALUES)
    return labels.with_array(reference_for_task(labels.array, task))


# --- a folder of predictions against a folder of references --------------------------------

def label_files(folder: Path) -> dict[str, Path]:
    """participant -> label map, for <folder>/<participant>/labels.<ext> (prediction and
    simulator layout) or <folder>/<participant>.<ext> (datastore labels/final layout)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "folder not found")
    found = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            path = find_image(entry, "labels")
            if path is not None:
                found[entry.name] = path
            continue
        suffix = next((s for s in IMAGE_SUFFIXES if entry.name.endswith(s)), None)
        if suffix is not None:
            found[entry.name[: -len(suffix)]] = entry
    if not found:
        raise InputError(folder, "holds no label maps (<participant>/labels.nii.gz or <participant>.nii.gz)")
    return found


def mimics_beside(reference: Path) -> Path | None:
    """The simulator's `mimics` map beside a <participant>/labels.<ext> reference; None in
    the datastore layout or where there is none."""
    return find_image(reference.parent, "mimics") if reference.name.startswith("labels") else None


def task_tolerances(task: str, cmb: float | None = None, iron: float | None = None) -> dict[int, float] | None:
    """Matching tolerances given by class for a task, None where none is given (the paper's).
    Union lesions carry label 1 and take the CMB tolerance."""
    given = {CMB: cmb} if task == "union" else {CMB: cmb, IRON: iron}
    return {label: value for label, value in given.items() if value is not None} or None


def evaluate_folder(
    prediction_folder: Path,
    references: Mapping[str, Path],
    task: str = "multiclass",
    tolerance: float | dict[int, float] | None = None,
    unit: str = "voxel",
    progress: Callable[[int, int], None] | None = None,
) -> Results:
    """The results of every reference participant (in name order) against its prediction
    in `prediction_folder`; results of participants with a `mimics` map beside their
    reference also count the false positives on mimics (ClassResult.on_mimics)."""
    predictions = label_files(prediction_folder)
    missing = sorted(set(references) - set(predictions))
    if missing:
        raise InputError(prediction_folder, f"no prediction for {len(missing)} reference participant(s): {', '.join(missing[:5])}")
    labels = [c.label for c in classes_for_task(task)]
    results = {}
    participants = sorted(references)
    for index, participant in enumerate(participants):
        prediction = read_reference(predictions[participant], task)
        reference = read_reference(references[participant], task)
        mimics_path = mimics_beside(references[participant])
        mimics = read_labels(mimics_path, (0, *sorted(MIMIC_NAMES))) if mimics_path is not None else None
        results[participant] = evaluate_participant(prediction, reference, labels, tolerance, unit, mimics=mimics, mimic_names=MIMIC_NAMES)
        if progress is not None:
            progress(index + 1, len(participants))
    return results


# --- summaries ---------------------------------------------------------------------------------

def table3_row(labels: str, modalities: str, results: Mapping[str, Mapping[int, ClassResult]], label: int,
               baseline: Mapping[str, Mapping[int, ClassResult]] | None = None) -> Table3Row:
    """Class `label` of one model over its participants as a Table 3 row; with a baseline
    model's results (the same participants), the rank-sum p-value of each of
    RANK_SUM_MEASURES against it."""
    values = [results[p][label] for p in sorted(results)]
    row = Table3Row(labels, modalities, summarize_class(values))
    if baseline is not None:
        base = [baseline[p][label] for p in sorted(baseline)]
        row.p_values = {m: rank_sum_test([getattr(r, m) for r in values], [getattr(r, m) for r in base]) for m in RANK_SUM_MEASURES}
    return row


@dataclass
class MimicSummary:
    """False positives on mimics over the participants whose mimics are known."""

    per_participant: float  # mean number per participant
    participants: int
    total_by_kind: dict[str, int]
    by_participant: dict[str, dict[str, int]]

    def text(self) -> str:
        kinds = ", ".join(f"{n} on {kind}" for kind, n in self.total_by_kind.items())
        return f"false positives on mimics: {self.per_participant:.2f} per participant ({kinds})"


def summarize_mimics(results: Results) -> MimicSummary | None:
    """MimicSummary of the participants whose results count false positives on mimics; None
    where none do."""
    by_participant = {p: counts for p, by_class in results.items() if (counts := mimic_counts(by_class)) is not None}
    if not by_participant:
        return None
    kinds = next(iter(by_participant.values()))
    return MimicSummary(
        per_participant=float(np.mean([sum(counts.values()) for counts in by_participant.values()])),
        participants=len(by_participant),
        total_by_kind={kind: sum(counts[kind] for counts in by_participant.values()) for kind in kinds},
        by_participant=by_participant,
    )


@dataclass
class CohortEvaluation:
    """A folder of predictions scored against a folder of references."""

    classes: tuple[LesionClass, ...]
    results: Results
    rows: list[Table3Row]  # one per class, in the order of `classes`
    mimics: MimicSummary | None = None
    unit: str = "voxel"  # of the matching's centroids and distances

    def table(self) -> str:
        return table3_markdown(self.rows)

    def report(self) -> str:
        """What summary.md holds: the Table 3, the lesions pooled over participants, and the
        false positives on mimics where known."""
        parts = [self.table(), "Pooled over participants:", pooled_markdown(self.rows)]
        if self.mimics is not None:
            parts.append(self.mimics.text())
        return "\n\n".join(parts)

    def summary(self) -> dict:
        """What summary.json holds: per class key its summary and p-values, and the false
        positives on mimics where known."""
        summaries: dict = {c.key: {"summary": row.summary, "p_values": row.p_values} for c, row in zip(self.classes, self.rows)}
        if self.mimics is not None:
            summaries["false_positives_on_mimics"] = self.mimics
        return summaries

    def write(self, out: Path) -> None:
        """per_participant.csv, lesions.csv (every lesion's outcome: metrics.lesion_outcome_rows),
        summary.md (`report`) and summary.json into `out`."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        write_per_participant_csv(self.results, out / "per_participant.csv")
        write_lesion_outcomes_csv(self.results, out / LESION_OUTCOMES_FILE, self.unit)
        write_text_atomic(out / "summary.md", self.report() + "\n")
        write_json_atomic(out / "summary.json", self.summary())


def evaluate_cohort(
    prediction: Path,
    reference: Path,
    task: str = "multiclass",
    tolerance: float | dict[int, float] | None = None,
    unit: str = "voxel",
    baseline: Path | None = None,
    modalities: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> CohortEvaluation:
    """Every reference participant's results and the Table 3 rows of the classes of `task`
    (Modalities column: `modalities`, default the prediction folder's name), with rank-sum
    tests against the predictions in `baseline` where given."""
    matching_tolerances(tolerance, [c.label for c in classes_for_task(task)], unit)  # refused before any file is read
    references = label_files(reference)
    results = evaluate_folder(prediction, references, task, tolerance, unit, progress)
    base = evaluate_folder(baseline, references, task, tolerance, unit, progress) if baseline is not None else None
    classes = classes_for_task(task)
    rows = [table3_row(c.name, modalities or Path(prediction).name, results, c.label, base) for c in classes]
    return CohortEvaluation(classes, results, rows, summarize_mimics(results), unit)


# --- training validation -----------------------------------------------------------------------

class IoUAccumulator:
    """Intersection over union per class, summed over batches of class-index maps (0
    background, 1..num_classes the classes): the validation measure by which training keeps
    its best epoch. A class absent from both prediction and target has IoU 0."""

    def __init__(self, num_classes: int):
        self.intersection = np.zeros(num_classes)
        self.union = np.zeros(num_classes)

    def add(self, prediction: np.ndarray, target: np.ndarray) -> None:
        for index in range(1, len(self.intersection) + 1):
            p, t = prediction == index, target == index
            self.intersection[index - 1] += (p & t).sum()
            self.union[index - 1] += (p | t).sum()

    def per_class(self) -> np.ndarray:
        return self.intersection / np.maximum(self.union, 1)

    def mean(self) -> float:
        return float(np.mean(self.per_class()))
