"""Detection metrics and statistics of the paper (sections 2.5 and 2.6).

Per participant and class: 3-D connected components (26-connectivity) of prediction and
reference, their unweighted centroids, and a one-to-one matching of predicted to reference
lesions whose centroids lie within the tolerance (`match_lesions`). A match is a true
positive (TP), an unmatched prediction a false positive (FP), an unmatched reference
lesion a false negative (FN). sensitivity = TP / (TP + FN) = TP / n_ref,
precision = TP / (TP + FP) = TP / n_pred. The tolerance is 3 voxels for CMBs and 5 for
iron deposits (classes.TOLERANCE_VOXELS), distances measured in continuous voxel indices;
with unit='mm' distances are in patient millimetres and the tolerance is given in mm.

Empty participants (the rule; the paper leaves it open):
- no reference lesions: sensitivity is undefined (NaN) and left out of the cohort mean;
  precision is 0 when there are predictions (all of them false positives);
- no predictions: precision is undefined (NaN) and left out of the mean; sensitivity is 0
  when there are reference lesions (all of them missed);
- neither: both undefined; the participant still counts, with FP = 0, in the false
  positives per participant.
The per-participant magnitude sqrt(s^2 + p^2) is defined only where both are.
Every summary reports n, the number of participants that entered its mean.

Across participants: mean with SEM (sample standard deviation / sqrt(n)) and a 95 %
confidence interval from Student's t with n - 1 degrees of freedom. Two magnitudes:
the paper's definition sqrt(mean sensitivity^2 + mean precision^2) (`magnitude_accuracy`),
and the mean of the per-participant magnitudes with SEM and CI (`magnitude`), which is what
Table 3's "Avg Magnitude Accuracy ± SEM [CI]" column reports: an SEM needs per-participant
values, and the paper's numbers (e.g. S 0.88, P 0.40, magnitude 1.09, where
sqrt(0.88^2 + 0.40^2) = 0.97) fit only a mean of per-participant magnitudes, which is never
smaller than the magnitude of the means. Models are compared with the two-sided Wilcoxon
rank-sum test, as the paper did in MATLAB (`rank_sum_test`).
"""

from __future__ import annotations

import csv
import io
import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import optimize, stats

from . import options
from .atomic import write_text_atomic
from .classes import TOLERANCE_VOXELS
from .errors import InputError
from .lesions import label_components, labelled_centroids
from .volumes import Volume, same_grid

SIGNIFICANCE = 0.05


# --- matching ---------------------------------------------------------------------------

def match_lesions(pred_centroids: np.ndarray, ref_centroids: np.ndarray, tolerance: float) -> list[tuple[int, int, float]]:
    """One-to-one matches (pred index, ref index, distance), only pairs with Euclidean
    distance <= tolerance (the boundary matches), sorted by prediction index.

    Optimal assignment: the largest possible number of matches and, among assignments
    with that many, the smallest total distance (linear_sum_assignment, the Hungarian
    method). Every out-of-tolerance pair costs the same constant, larger than the sum of
    all admissible distances, so trading one admissible pair for an inadmissible one always
    costs more than any saving in distance: the solver maximises matches first. (The cost
    must not grow with distance: then two near misses could be cheaper than one match
    plus one far miss.) Inadmissible pairs the solver had to use are dropped.

    Greedy nearest-first matching can lose matches: references at x = 2 and 5, predictions
    at x = 2.5 and 0, tolerance 3. Greedy takes the closest pair (2.5 -> 2, distance 0.5);
    the prediction at 0 is then 5 from the only reference left: one match. The optimal
    assignment finds two, (0 -> 2) and (2.5 -> 5), which is what the paper's counting of
    detected lesions means."""
    pred = np.asarray(pred_centroids, dtype=float).reshape(-1, 3)
    ref = np.asarray(ref_centroids, dtype=float).reshape(-1, 3)
    if len(pred) == 0 or len(ref) == 0:
        return []
    distance = np.linalg.norm(pred[:, None, :] - ref[None, :, :], axis=2)
    admissible = distance <= tolerance
    penalty = float(distance[admissible].sum()) + 1.0
    cost = np.where(admissible, distance, penalty)
    rows, cols = optimize.linear_sum_assignment(cost)
    return [(int(r), int(c), float(distance[r, c])) for r, c in zip(rows, cols) if admissible[r, c]]


# --- one participant --------------------------------------------------------------------

def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else float("nan")


@dataclass
class ClassResult:
    """Detection counts and rates of one class in one participant (rates NaN when
    undefined, see the module docstring).

    `unmatched`: which predicted lesions are the false positives (indices into the
    predicted centroids, i.e. component number - 1); `on_mimics`: the false positives by
    the kind of mimic they lie on, where the mimics are known (simulated data), else None;
    `matches` (pred index, ref index, distance), the centroids (in the matching's unit) and
    `fp_mimics` (false positive's index -> the mimic it lies on) describe each lesion
    (`lesion_outcome_rows`). None takes part in comparisons: two results are equal when their
    counts are."""

    tp: int
    fp: int
    fn: int
    n_pred: int
    n_ref: int
    unmatched: tuple[int, ...] = field(default=(), repr=False, compare=False)
    on_mimics: dict[str, int] | None = field(default=None, compare=False)
    matches: tuple[tuple[int, int, float], ...] = field(default=(), repr=False, compare=False)
    pred_centroids: np.ndarray | None = field(default=None, repr=False, compare=False)
    ref_centroids: np.ndarray | None = field(default=None, repr=False, compare=False)
    fp_mimics: dict[int, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def sensitivity(self) -> float:
        return _ratio(self.tp, self.n_ref)

    @property
    def precision(self) -> float:
        return _ratio(self.tp, self.n_pred)

    @property
    def magnitude(self) -> float:
        """sqrt(s^2 + p^2); NaN unless both are defined."""
        s, p = self.sensitivity, self.precision
        return float("nan") if math.isnan(s) or math.isnan(p) else math.hypot(s, p)


def match_class(pred_centroids: np.ndarray, ref_centroids: np.ndarray, tolerance: float) -> ClassResult:
    """The counts of one class from one matching (`match_lesions`) of its predicted and
    reference centroids, keeping which predictions matched nothing."""
    pred = np.asarray(pred_centroids, dtype=float).reshape(-1, 3)
    ref = np.asarray(ref_centroids, dtype=float).reshape(-1, 3)
    matches = tuple(match_lesions(pred, ref, tolerance))
    matched = {p for p, _, _ in matches}
    unmatched = tuple(p for p in range(len(pred)) if p not in matched)
    tp = len(matched)
    return ClassResult(tp=tp, fp=len(pred) - tp, fn=len(ref) - tp, n_pred=len(pred), n_ref=len(ref), unmatched=unmatched,
                       matches=matches, pred_centroids=pred, ref_centroids=ref)


def class_components(volume: Volume, label: int, unit: str = "voxel") -> tuple[np.ndarray, np.ndarray]:
    """The 3-D connected components of one label value, numbered 1..n, and their unweighted
    centroids, row k for component k + 1: (x, y, z) continuous voxel index for 'voxel',
    LPS mm for 'mm'."""
    components, count = label_components(volume.array == label)
    index_xyz = labelled_centroids(components, count)[:, ::-1]
    return components, index_xyz if unit == "voxel" else volume.index_to_lps(index_xyz).reshape(-1, 3)


def _mimics_under(components: np.ndarray, numbers: Iterable[int], mimics: np.ndarray, mimic_names: Mapping[int, str]) -> dict[int, str]:
    """component number -> the name of the mimic it lies on, for those of the given
    components that touch one; a component touching several kinds gets the one it overlaps most."""
    names = {}
    for number in numbers:
        under = mimics[components == number]
        under = under[under > 0]
        if under.size:
            names[number] = mimic_names[int(np.bincount(under).argmax())]
    return names


def matching_tolerances(tolerance: float | Mapping[int, float] | None, classes: Iterable[int], unit: str) -> dict[int, float]:
    """Tolerance per label: a number for every class, a dict, or None (the paper's voxels).
    InputError for a unit other than 'voxel' or 'mm', a tolerance that is not a positive
    finite number, and for 'mm' without a tolerance for every class (the paper's are voxels)."""
    if unit not in ("voxel", "mm"):
        raise InputError("--unit", f"must be 'voxel' or 'mm', not {unit!r}")
    if isinstance(tolerance, numbers.Real) and not isinstance(tolerance, bool):
        tolerance = {label: tolerance for label in classes}
    given = {label: options.positive_number(value, f"tolerance of label {label}") for label, value in dict(tolerance or {}).items()}
    if unit == "mm":
        missing = [label for label in classes if label not in given]
        if missing:
            raise InputError("--unit mm", f"needs a matching tolerance in mm for label(s) {missing} (--tolerance-cmb, "
                                          "--tolerance-iron): the paper's tolerances are in voxels")
        return given
    merged = {**TOLERANCE_VOXELS, **given}
    missing = [label for label in classes if label not in merged]
    if missing:
        raise InputError("tolerance", f"no tolerance for label(s) {missing}")
    return merged


def evaluate_participant(
    prediction: Volume,
    reference: Volume,
    classes: Iterable[int] = (1, 2),
    tolerance: float | dict[int, float] | None = None,
    unit: str = "voxel",
    mimics: Volume | None = None,
    mimic_names: Mapping[int, str] | None = None,
) -> dict[int, ClassResult]:
    """TP/FP/FN of each class (label value) of one participant.

    unit 'voxel': centroid distances in continuous voxel indices, tolerance in voxels
    (default the paper's 3 for CMB, 5 for iron); 'mm': distances in LPS millimetres,
    tolerance in mm (required, as the paper gives none). On anisotropic voxels the two
    differ: one slice of 2.5 mm is 1 voxel but 2.5 mm.

    With a `mimics` map (simulated data: mimic kind per voxel, `mimic_names` kind -> name)
    each result also counts its false positives by the mimic they lie on (`on_mimics`),
    from the same components and matching as the counts."""
    tolerances = matching_tolerances(tolerance, classes, unit)
    if not same_grid(prediction, reference):
        raise InputError(
            prediction.source,
            f"prediction is not on the grid of the reference {reference.source or ''}".rstrip()
            + f" (shape {prediction.shape} vs {reference.shape}, spacing {tuple(prediction.spacing)} vs {tuple(reference.spacing)})",
        )
    if mimics is not None and mimic_names is None:
        raise ValueError("give mimic_names (kind -> name) with a mimics map")
    if mimics is not None and not same_grid(mimics, reference):
        raise InputError(mimics.source, f"mimics are not on the grid of the reference {reference.source or ''}".rstrip())
    results = {}
    for label in classes:
        components, predicted = class_components(prediction, label, unit)
        result = match_class(predicted, class_components(reference, label, unit)[1], tolerances[label])
        if mimics is not None:
            under = _mimics_under(components, (p + 1 for p in result.unmatched), mimics.array, mimic_names)
            result.fp_mimics = {number - 1: name for number, name in under.items()}
            result.on_mimics = {name: sum(1 for kind in under.values() if kind == name) for name in mimic_names.values()}
        results[label] = result
    return results


def mimic_counts(results: Mapping[int, ClassResult]) -> dict[str, int] | None:
    """The false positives on mimics of one participant, summed over its classes (None
    where its results carry no mimic counts)."""
    counted = [r.on_mimics for r in results.values() if r.on_mimics is not None]
    if not counted:
        return None
    return {name: sum(c[name] for c in counted) for name in counted[0]}


def false_positives_on_mimics(prediction: Volume, reference: Volume, mimics: Volume, mimic_names: Mapping[int, str], classes: Iterable[int] = (1, 2),
                              tolerance: float | dict[int, float] | None = None, unit: str = "voxel") -> dict[str, int]:
    """False positives (predicted lesions matched to no reference lesion) that touch a mimic,
    counted by the mimic's name (simulated data, where the mimics are known); a false positive
    touching several kinds counts for the one it overlaps most."""
    results = evaluate_participant(prediction, reference, classes, tolerance, unit, mimics=mimics, mimic_names=mimic_names)
    return mimic_counts(results) or {name: 0 for name in mimic_names.values()}


# --- cohort -----------------------------------------------------------------------------

@dataclass
class Summary:
    """Mean of the defined values with SEM and 95 % CI; n: how many entered the mean."""

    mean: float
    sem: float
    ci_low: float
    ci_high: float
    n: int

    def text(self, digits: int = 2) -> str:
        """'0.84 ± 0.05 [0.74, 0.94]'; the mean alone when n = 1; 'n/a' when n = 0."""
        if self.n == 0:
            return "n/a"
        if math.isnan(self.sem):
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} ± {self.sem:.{digits}f} [{self.ci_low:.{digits}f}, {self.ci_high:.{digits}f}]"


def _defined(values) -> np.ndarray:
    values = np.asarray(list(values), dtype=float)
    return values[~np.isnan(values)]


def summarize(values: Iterable[float]) -> Summary:
    """Mean, SEM (ddof=1) and Student-t 95 % CI of the values, NaNs dropped; SEM and CI
    are NaN below two values."""
    values = _defined(values)
    n = len(values)
    nan = float("nan")
    if n == 0:
        return Summary(nan, nan, nan, nan, 0)
    mean = float(values.mean())
    if n < 2:
        return Summary(mean, nan, nan, nan, n)
    sem = float(values.std(ddof=1) / math.sqrt(n))
    half = float(stats.t.ppf(0.975, n - 1)) * sem
    return Summary(mean, sem, mean - half, mean + half, n)


def summarize_class(results: list[ClassResult]) -> dict:
    """Cohort summary of one class over participants (one ClassResult each)."""
    sensitivity = summarize([r.sensitivity for r in results])
    precision = summarize([r.precision for r in results])
    return {
        "participants": len(results),
        "sensitivity": sensitivity,
        "precision": precision,
        "magnitude_accuracy": math.hypot(sensitivity.mean, precision.mean),  # NaN if either is
        "magnitude": summarize([r.magnitude for r in results]),
        "false_positives_per_participant": summarize([float(r.fp) for r in results]),
        "tp": sum(r.tp for r in results),
        "fp": sum(r.fp for r in results),
        "fn": sum(r.fn for r in results),
    }


def rank_sum_test(values: Iterable[float], baseline_values: Iterable[float]) -> float:
    """Two-sided Wilcoxon rank-sum p-value (Mann-Whitney U; NaNs dropped; NaN when a side
    is empty). scipy's method 'auto' is exact for small samples without ties and otherwise
    the normal approximation with tie and continuity corrections, as MATLAB's ranksum
    (which the paper used) is for samples like the paper's 24 vs 24."""
    a, b = _defined(values), _defined(baseline_values)
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    return float(stats.mannwhitneyu(a, b, alternative="two-sided", method="auto").pvalue)


# --- tables -----------------------------------------------------------------------------

def _marked(summary: Summary, p_value: float | None) -> str:
    significant = p_value is not None and not math.isnan(p_value) and p_value < SIGNIFICANCE
    return summary.text() + ("*" if significant else "")


RANK_SUM_MEASURES = ("sensitivity", "precision", "magnitude")


@dataclass
class Table3Row:
    """One row of the paper's Table 3: one class of one model over the participants.

    `summary`: summarize_class of its per-participant results; `p_values`: rank-sum test
    p-value of each of RANK_SUM_MEASURES against a baseline model (the SWI-only model in the
    paper), None without one."""

    labels: str
    modalities: str
    summary: dict
    p_values: dict[str, float] | None = None


def table3_markdown(rows: list[Table3Row | dict]) -> str:
    """A Markdown table laid out like the paper's Table 3, one line per Table3Row (or dict
    with its fields); a value is marked * where p < 0.05. The false positives column is
    the mean per participant, as in the paper."""
    lines = [
        ("| Labels | Modalities | Avg Sensitivity ± SEM [95 % CI] | Avg Precision ± SEM [95 % CI] "
         "| Avg Magnitude Accuracy ± SEM [95 % CI] | False Positives per Participant |"),
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        row = row if isinstance(row, Table3Row) else Table3Row(**row)
        summary, p = row.summary, row.p_values or {}
        false_positives = summary["false_positives_per_participant"]
        cells = [
            str(row.labels),
            str(row.modalities),
            _marked(summary["sensitivity"], p.get("sensitivity")),
            _marked(summary["precision"], p.get("precision")),
            _marked(summary["magnitude"], p.get("magnitude")),
            "n/a" if false_positives.n == 0 else f"{false_positives.mean:.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def pooled_rates(tp: int, fp: int, fn: int, undefined: float = math.nan) -> dict[str, float]:
    """Sensitivity, precision and F1 (2 TP / (2 TP + FP + FN)) of lesions pooled over
    participants, `undefined` where a rate has no denominator: NaN for a report, which shows
    it as such; a calibration, which ranks thresholds by F1, passes 0 (or 1, where no lesion
    and no prediction is a perfect score)."""
    return {"sensitivity": tp / (tp + fn) if tp + fn else undefined,
            "precision": tp / (tp + fp) if tp + fp else undefined,
            "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else undefined}


def pooled_markdown(rows: list[Table3Row | dict]) -> str:
    """A Markdown table of each Table3Row's lesions pooled over the participants (TP, FP, FN
    and the sensitivity, precision and F1 of those sums), with how many participants entered
    the Table 3 averages: a participant without reference lesions has no sensitivity and one
    without predictions no precision, so on a cohort with few lesions of a class the averages
    rest on few participants, and one false positive in a participant without lesions counts
    as a precision of 0."""
    lines = [("| Labels | Modalities | TP | FP | FN | Pooled Sensitivity | Pooled Precision | Pooled F1 "
             "| Participants in the Averages (Sensitivity / Precision) |"),
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        row = row if isinstance(row, Table3Row) else Table3Row(**row)
        tp, fp, fn = (row.summary[key] for key in ("tp", "fp", "fn"))
        rates = pooled_rates(tp, fp, fn)
        cells = [str(row.labels), str(row.modalities), str(tp), str(fp), str(fn),
                 *("n/a" if math.isnan(rates[name]) else f"{rates[name]:.3f}" for name in ("sensitivity", "precision", "f1")),
                 f"{row.summary['sensitivity'].n} / {row.summary['precision'].n} of {row.summary['participants']}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


PER_PARTICIPANT_COLUMNS = ["participant", "class", "tp", "fp", "fn", "n_pred", "n_ref", "sensitivity", "precision", "magnitude"]


def per_participant_rows(results: dict[str, dict[int, ClassResult]]) -> list[dict]:
    """participant -> {label: ClassResult} as rows (sorted by participant, then label);
    'class' is the label value evaluated, rates rounded to 4 decimals, '' when undefined."""
    rows = []
    for participant in sorted(results):
        for label, r in sorted(results[participant].items()):
            rates = {name: "" if math.isnan(v) else round(v, 4) for name, v in (("sensitivity", r.sensitivity), ("precision", r.precision), ("magnitude", r.magnitude))}
            rows.append({"participant": participant, "class": label, "tp": r.tp, "fp": r.fp, "fn": r.fn, "n_pred": r.n_pred, "n_ref": r.n_ref, **rates})
    return rows


def lesion_outcome_columns(unit: str) -> list[str]:
    """The columns of `lesion_outcome_rows`; centroids named as in the lesion table
    (lesions.TABLE_COLUMNS): voxel indices i, j, k, or LPS millimetres for unit 'mm'."""
    axes = ["i", "j", "k"] if unit == "voxel" else ["lps_x", "lps_y", "lps_z"]
    return (["participant", "class", "outcome"] + [f"pred_centroid_{a}" for a in axes] + [f"ref_centroid_{a}" for a in axes]
            + ["distance", "mimic"])


def lesion_outcome_rows(results: dict[str, dict[int, ClassResult]], unit: str = "voxel") -> list[dict]:
    """One row per lesion of every participant and class (label value): each match a TP
    (predicted and reference centroid, their distance in `unit`), each unmatched prediction
    an FP (with the mimic it lies on, where known), each unmatched reference lesion an FN; by
    participant, class, then TP, FP, FN, each in component order. Coordinates rounded to 3
    decimals, as in the lesion table, so that a prediction's row finds its lesion there."""
    columns = lesion_outcome_columns(unit)
    rows = []
    for participant in sorted(results):
        for label, r in sorted(results[participant].items()):
            if r.pred_centroids is None:
                continue
            found = {ref for _, ref, _ in r.matches}
            lesions = ([("TP", p, ref, distance) for p, ref, distance in r.matches]
                       + [("FP", p, None, None) for p in r.unmatched]
                       + [("FN", None, ref, None) for ref in range(len(r.ref_centroids)) if ref not in found])
            for outcome, p, ref, distance in lesions:
                pred_xyz = r.pred_centroids[p] if p is not None else [None] * 3
                ref_xyz = r.ref_centroids[ref] if ref is not None else [None] * 3
                values = [participant, label, outcome, *pred_xyz, *ref_xyz, distance, r.fp_mimics.get(p, "") if outcome == "FP" else ""]
                rows.append({c: "" if v is None else round(float(v), 3) if isinstance(v, (float, np.floating)) else v
                             for c, v in zip(columns, values)})
    return rows


def write_lesion_outcomes_csv(results: dict[str, dict[int, ClassResult]], path: Path | str, unit: str = "voxel") -> Path:
    """lesion_outcome_rows as CSV, written atomically (temporary file, then renamed)."""
    return _write_csv(path, lesion_outcome_columns(unit), lesion_outcome_rows(results, unit))


def write_per_participant_csv(results: dict[str, dict[int, ClassResult]], path: Path | str) -> Path:
    """per_participant_rows as CSV, written atomically (temporary file, then renamed)."""
    return _write_csv(path, PER_PARTICIPANT_COLUMNS, per_participant_rows(results))


def _write_csv(path: Path | str, columns: list[str], rows: list[dict]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return write_text_atomic(path, buffer.getvalue())
