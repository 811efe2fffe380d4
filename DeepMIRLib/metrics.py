"""Detection metrics and statistics of the paper (sections 2.5 and 2.6).

Per participant and class: 3-D connected components (26-connectivity) of prediction and
reference, their centroids, and a one-to-one matching (`match_lesions`); a match is a true
positive, an unmatched prediction a false positive, an unmatched reference lesion a false
negative. sensitivity = TP / (TP + FN), precision = TP / (TP + FP).

Empty participants (the rule, which the paper leaves open):
- no reference lesions: sensitivity is undefined (NaN) and left out of the cohort mean;
  precision is 0 when there are predictions (all of them false positives);
- no predictions: precision is undefined (NaN) and left out of the mean; sensitivity is 0
  when there are reference lesions;
- neither: both undefined; the participant still counts, with 0, in the false positives
  per participant.
Every summary reports n, the number of participants that entered its mean.

Across participants: mean with SEM (sample standard deviation / sqrt(n)) and a 95 %
confidence interval from Student's t; the paper's magnitude accuracy
sqrt(mean sensitivity^2 + mean precision^2); and the per-participant magnitude
sqrt(s^2 + p^2) summarised the same way (the Table 3 column). Models are compared with
the two-sided Wilcoxon rank-sum test (Mann-Whitney U), as the paper did in MATLAB.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from .atomic import write_text_atomic
from .classes import TOLERANCE_VOXELS
from .errors import InputError
from .lesions import component_centroids
from .volumes import Volume, same_grid


def match_lesions(pred_centroids, ref_centroids, tolerance: float) -> list[tuple[int, int, float]]:
    """One-to-one matches (pred index, ref index, distance) with distance <= tolerance.

    Optimal assignment: the most matches possible, and among those the least total
    distance (Hungarian algorithm). Pairs beyond the tolerance cost more than all admissible
    pairs together, so the solver only uses one when no admissible pair is left, and such
    pairs are then dropped. Greedy nearest-first matching can lose matches: references at
    x = 2 and 5, predictions at 2.5 and 0, tolerance 3: greedy takes the closest pair
    (2.5, 2) first and the prediction at 0 is then 5 away from the only reference left, so
    it finds one match; the optimal assignment finds two, (0, 2) and (2.5, 5)."""
    pred = np.asarray(pred_centroids, dtype=float).reshape(-1, 3)
    ref = np.asarray(ref_centroids, dtype=float).reshape(-1, 3)
    if len(pred) == 0 or len(ref) == 0:
        return []
    distance = np.linalg.norm(pred[:, None, :] - ref[None, :, :], axis=2)
    admissible = distance <= tolerance
    penalty = distance[admissible].sum() + 1.0 if admissible.any() else 1.0
    cost = np.where(admissible, distance, penalty * (1 + distance))
    rows, cols = optimize.linear_sum_assignment(cost)
    return [(int(r), int(c), float(distance[r, c])) for r, c in zip(rows, cols) if admissible[r, c]]


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else float("nan")


@dataclass
class ClassResult:
    """Detection counts and rates of one class in one participant."""

    tp: int
    fp: int
    fn: int
    n_pred: int
    n_ref: int

    @property
    def sensitivity(self) -> float:
        return _ratio(self.tp, self.n_ref)

    @property
    def precision(self) -> float:
        return _ratio(self.tp, self.n_pred)

    @property
    def magnitude(self) -> float:
        return math.hypot(self.sensitivity, self.precision)  # NaN if either is NaN


def _centroids(mask: np.ndarray, volume: Volume, unit: str) -> np.ndarray:
    zyx = component_centroids(mask)
    if unit == "voxel":
        return zyx
    return volume.index_to_lps(zyx[:, ::-1]) if len(zyx) else zyx


def evaluate_participant(
    prediction: Volume,
    reference: Volume,
    classes=(1, 2),
    tolerance: dict[int, float] | None = None,
    unit: str = "voxel",
) -> dict[int, ClassResult]:
    """Match predicted and reference lesions of each class (label values).

    unit 'voxel': distances between centroids in voxel indices, tolerance in voxels (the
    paper: 3 for CMB, 5 for iron); 'mm': distances in patient millimetres, tolerance in mm
    (required then, as the paper gives none)."""
    if unit not in ("voxel", "mm"):
        raise ValueError(f"unit must be 'voxel' or 'mm', not {unit!r}")
    if not same_grid(prediction, reference):
        raise InputError(prediction.source, f"prediction is not on the grid of the reference {reference.source}")
    if tolerance is None or any(label not in tolerance for label in classes):
        if unit == "mm":
            raise ValueError("give a tolerance in mm for every class when unit='mm'")
        tolerance = {**TOLERANCE_VOXELS, **(tolerance or {})}
    results = {}
    for label in classes:
        pred = _centroids(prediction.array == label, prediction, unit)
        ref = _centroids(reference.array == label, reference, unit)
        tp = len(match_lesions(pred, ref, tolerance[label]))
        results[label] = ClassResult(tp=tp, fp=len(pred) - tp, fn=len(ref) - tp, n_pred=len(pred), n_ref=len(ref))
    return results


@dataclass
class Summary:
    mean: float
    sem: float
    ci_low: float
    ci_high: float
    n: int

    def text(self, digits: int = 2) -> str:
        if self.n == 0:
            return "n/a"
        if math.isnan(self.sem):
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} ± {self.sem:.{digits}f} [{self.ci_low:.{digits}f}, {self.ci_high:.{digits}f}]"


def summarize(values) -> Summary:
    """Mean, SEM and Student-t 95 % CI of the defined (non-NaN) values."""
    values = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    n = len(values)
    if n == 0:
        return Summary(float("nan"), float("nan"), float("nan"), float("nan"), 0)
    mean = float(values.mean())
    if n < 2:
        return Summary(mean, float("nan"), float("nan"), float("nan"), n)
    sem = float(values.std(ddof=1) / math.sqrt(n))
    half = float(stats.t.ppf(0.975, n - 1)) * sem
    return Summary(mean, sem, mean - half, mean + half, n)


def summarize_class(results: list[ClassResult]) -> dict:
    """Cohort summary of one class over participants."""
    sensitivity = summarize([r.sensitivity for r in results])
    precision = summarize([r.precision for r in results])
    return {
        "participants": len(results),
        "sensitivity": sensitivity,
        "precision": precision,
        "magnitude_accuracy": math.hypot(sensitivity.mean, precision.mean),
        "magnitude": summarize([r.magnitude for r in results]),
        "false_positives_per_participant": summarize([float(r.fp) for r in results]),
        "tp": sum(r.tp for r in results),
        "fp": sum(r.fp for r in results),
        "fn": sum(r.fn for r in results),
    }


def rank_sum_test(values, baseline_values) -> float:
    """Two-sided Wilcoxon rank-sum p-value (NaNs dropped; NaN when a side is empty)."""
    a = [v for v in values if not math.isnan(v)]
    b = [v for v in baseline_values if not math.isnan(v)]
    if not a or not b:
        return float("nan")
    return float(stats.mannwhitneyu(a, b, alternative="two-sided", method="auto").pvalue)


def _marked(summary: Summary, p_value: float | None) -> str:
    star = "*" if p_value is not None and not math.isnan(p_value) and p_value < 0.05 else ""
    return summary.text() + star


def table3_markdown(rows: list[dict]) -> str:
    """A Markdown table laid out like the paper's Table 3.

    Each row: 'labels', 'modalities', 'summary' (from summarize_class) and optionally
    'p_values' {'sensitivity', 'precision', 'magnitude'} against the baseline; a value is
    marked * where p < 0.05."""
    lines = [
        "| Labels | Modalities | Avg Sensitivity ± SEM [95 % CI] | Avg Precision ± SEM [95 % CI] | Avg Magnitude Accuracy ± SEM [95 % CI] | False Positives per Participant |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        summary, p = row["summary"], row.get("p_values") or {}
        lines.append(
            f"| {row['labels']} | {row['modalities']} | {_marked(summary['sensitivity'], p.get('sensitivity'))} "
            f"| {_marked(summary['precision'], p.get('precision'))} | {_marked(summary['magnitude'], p.get('magnitude'))} "
            f"| {summary['false_positives_per_participant'].mean:.2f} |"
        )
    return "\n".join(lines)


PER_PARTICIPANT_COLUMNS = ["participant", "label", "tp", "fp", "fn", "n_pred", "n_ref", "sensitivity", "precision", "magnitude"]


def write_per_participant_csv(results: dict[str, dict[int, ClassResult]], path) -> None:
    """participant -> {label: ClassResult} as CSV, one row per participant and class (atomic)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, PER_PARTICIPANT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for participant in sorted(results):
        for label, r in sorted(results[participant].items()):
            rates = {k: "" if math.isnan(v) else round(v, 4) for k, v in (("sensitivity", r.sensitivity), ("precision", r.precision), ("magnitude", r.magnitude))}
            writer.writerow({"participant": participant, "label": label, "tp": r.tp, "fp": r.fp, "fn": r.fn, "n_pred": r.n_pred, "n_ref": r.n_ref, **rates})
    write_text_atomic(path, buffer.getvalue())
