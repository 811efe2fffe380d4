"""Choosing a model's post-processing on validation data (`deepmir calibrate`).

The multi-class network labels a voxel as a lesion wherever a lesion class beats background
in the softmax, however narrowly. Components that never become more confident than that are
most often mimics (veins, calcifications). Calibration runs the model once over participants
with reference labels that it was not trained on, and picks per class the lowest
"minimum lesion probability" that maximises F1 = 2 TP / (2 TP + FP + FN), with TP, FP and FN
summed over the participants and counted as in the paper (centroids matched within 3 voxels
for CMB, 5 for iron). The choice goes into the model card's `postprocessing`, which
`deepmir predict` applies by default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from .classes import TOLERANCE_VOXELS
from .evaluation import read_reference
from .inference import ProgressCallback
from .lesions import component_maxima
from .metrics import class_components, match_class, pooled_rates
from .modelfile import LoadedModel
from .pipeline import Detection, detect
from .training import TrainingCase
from .volumes import Volume

# 0.5 ... 0.95, then finer towards 1, where the softmax of confident lesions lies
CANDIDATE_PROBABILITIES = tuple(round(0.5 + 0.05 * k, 2) for k in range(10)) + (0.97, 0.98, 0.99, 0.995)


@dataclass
class ThresholdRow:
    min_probability: float
    tp: int
    fp: int
    fn: int

    @property
    def f1(self) -> float:
        return pooled_rates(self.tp, self.fp, self.fn, undefined=0.0)["f1"]

    def to_dict(self) -> dict:
        rates = pooled_rates(self.tp, self.fp, self.fn, undefined=0.0)
        return {"min_probability": self.min_probability, "tp": self.tp, "fp": self.fp, "fn": self.fn,
                **{name: round(value, 4) for name, value in rates.items()}}


@dataclass
class ClassComponents:
    """What the threshold table needs of one participant and class: each predicted
    component's peak probability and centroid, and the reference's centroids."""

    peaks: np.ndarray
    predicted: np.ndarray
    expected: np.ndarray


def summarize(prediction: tuple[Volume, dict, Volume], label: int) -> ClassComponents:
    """A case's ClassComponents of class `label` from its maps (predict_for_calibration)."""
    labels, probabilities, reference = prediction
    components, predicted = class_components(labels, label)  # centroids as evaluate_participant finds them
    peaks = component_maxima(probabilities[label], components, len(predicted))
    return ClassComponents(peaks, predicted, class_components(reference, label)[1])


def predict_for_calibration(model: LoadedModel, cases: list[TrainingCase], device: str = "auto", progress: ProgressCallback | None = None,
                            on_detection: Callable[[TrainingCase, Detection], None] | None = None
                            ) -> Iterator[tuple[Volume, dict, Volume]]:
    """(unfiltered label map, label value -> probability array, reference) per case, one case
    at a time: the U-Net alone (one stage; the minimum lesion probabilities are the U-Net's, a
    second stage has its own). `on_detection(case, detection)` is called with each case's
    detection (to score a second stage from it without running the U-Net again). A caller that
    reduces each case as it comes (`calibrate`: `summarize`) does not hold every participant's
    maps (about 50 MB each at full size)."""
    for index, case in enumerate(cases):
        prediction = detect(case.inputs, model, device=device, min_probability=0, stages=1)
        if on_detection is not None:
            on_detection(case, prediction)
        reference = read_reference(case.labels, model.card.task)
        by_label = {c.label: prediction.probabilities[c.key].array for c in model.card.lesion_classes}
        if progress is not None:
            progress(index + 1, len(cases))
        yield prediction.labels, by_label, reference


def threshold_table(summaries: list[dict[int, ClassComponents]], label: int,
                    candidates: Iterable[float] = CANDIDATE_PROBABILITIES) -> list[ThresholdRow]:
    """TP / FP / FN of class `label` summed over the participants (their ClassComponents by
    label, `summarize`), for no filtering (0) and for every candidate minimum probability.

    Filtering removes whole components and leaves the others (and their centroids) as they
    were, so each participant's components, peaks and centroids are found once and every
    threshold only re-matches the surviving centroids: the same counts as
    `evaluate_participant` on each filtered label map, without relabelling the volume."""
    tolerance = TOLERANCE_VOXELS[label]
    rows = []
    for threshold in (0.0, *candidates):
        tp = fp = fn = 0
        for case in (summary[label] for summary in summaries):
            result = match_class(case.predicted[case.peaks >= threshold], case.expected, tolerance)
            tp, fp, fn = tp + result.tp, fp + result.fp, fn + result.fn
        rows.append(ThresholdRow(threshold, tp, fp, fn))
    return rows


def choose_min_probability(rows: list[ThresholdRow]) -> float:
    """The lowest threshold with the highest F1 (rows in increasing threshold order)."""
    best = max(row.f1 for row in rows)
    return next(row.min_probability for row in rows if row.f1 == best)


def calibrate(model: LoadedModel, cases: list[TrainingCase], device: str = "auto", progress: ProgressCallback | None = None,
              on_detection: Callable[[TrainingCase, Detection], None] | None = None) -> dict:
    """The card's new postprocessing and the record of how it was chosen (`on_detection` as
    for predict_for_calibration)."""
    summaries = [{c.label: summarize(maps, c.label) for c in model.card.lesion_classes}
                 for maps in predict_for_calibration(model, cases, device, progress, on_detection)]
    chosen, tables = {}, {}
    for lesion_class in model.card.lesion_classes:
        rows = threshold_table(summaries, lesion_class.label)
        chosen[lesion_class.key] = choose_min_probability(rows)
        tables[lesion_class.key] = [row.to_dict() for row in rows]
    return {"min_lesion_probability": chosen, "cases": [c.case_id for c in cases], "tables": tables}
