"""Detection metrics and statistics (paper 2.5-2.6) on hand-built label maps with
worked-out answers."""

import csv
import math

import numpy as np
import pytest
from scipy import stats

from DeepMIRLib.cli import main
from DeepMIRLib.errors import InputError
from DeepMIRLib.metrics import (
    PER_PARTICIPANT_COLUMNS,
    ClassResult,
    evaluate_participant,
    match_lesions,
    per_participant_rows,
    rank_sum_test,
    summarize,
    summarize_class,
    table3_markdown,
    write_per_participant_csv,
)
from DeepMIRLib.volumes import Volume, write_volume

T_975_2 = 4.302653  # Student t, 97.5th percentile, 2 degrees of freedom (tables: 4.303)


def _pair(shape=(20, 20, 20), spacing=(1.0, 1.0, 1.0)):
    grid = {"origin": (0.0, 0.0, 0.0), "spacing": spacing, "direction": (1, 0, 0, 0, 1, 0, 0, 0, 1)}
    return Volume(np.zeros(shape, np.uint8), **grid), Volume(np.zeros(shape, np.uint8), **grid)


def _greedy(pred, ref, tolerance):
    """Nearest-pair-first matching, for comparison only."""
    pairs = sorted((np.linalg.norm(np.subtract(p, r)), i, j) for i, p in enumerate(pred) for j, r in enumerate(ref))
    used_p, used_r, matches = set(), set(), []
    for d, i, j in pairs:
        if d <= tolerance and i not in used_p and j not in used_r:
            used_p.add(i), used_r.add(j), matches.append((i, j))
    return matches


# --- matching and counting --------------------------------------------------------------

def test_counts_on_a_hand_built_pair():
    prediction, reference = _pair()
    # reference CMBs at (z, y, x) (5,5,5), (10,10,10), (15,15,15); an iron deposit at (5,15,4..6)
    for z, y, x in ((5, 5, 5), (10, 10, 10), (15, 15, 15)):
        reference.array[z, y, x] = 1
    reference.array[5, 15, 4:7] = 2
    # prediction: a CMB 2 voxels from the first (match), 3 from the second along z (match:
    # the boundary counts), none near the third (FN), one far from all (FP); an iron
    # deposit 4 voxels from the reference's centroid (5,15,5) (match, tolerance 5)
    prediction.array[5, 5, 7] = 1
    prediction.array[13, 10, 10] = 1
    prediction.array[2, 18, 18] = 1
    prediction.array[9, 15, 5] = 2
    result = evaluate_participant(prediction, reference)
    cmb, iron = result[1], result[2]
    assert (cmb.tp, cmb.fp, cmb.fn, cmb.n_pred, cmb.n_ref) == (2, 1, 1, 3, 3)
    assert cmb.sensitivity == pytest.approx(2 / 3) and cmb.precision == pytest.approx(2 / 3)
    assert cmb.magnitude == pytest.approx(math.hypot(2 / 3, 2 / 3))
    assert (iron.tp, iron.fp, iron.fn) == (1, 0, 0)
    # one tolerance for every class, as a number: 1.5 voxels keeps no CMB match, iron is 4 off
    strict = evaluate_participant(prediction, reference, tolerance=1.5)
    assert (strict[1].tp, strict[2].tp) == (0, 0)
    # a dict may override one class; the other keeps the paper's default
    assert evaluate_participant(prediction, reference, tolerance={2: 3.0})[1].tp == 2


def test_tolerance_boundary():
    assert match_lesions([[0, 0, 0]], [[0, 0, 3.0]], 3.0) == [(0, 0, 3.0)]
    assert match_lesions([[0, 0, 0]], [[0, 0, 3.2]], 3.0) == []
    # on voxels: 3 slices apart is exactly 3 (matches), (3, 1) apart is sqrt(10) = 3.16 (does not)
    prediction, reference = _pair()
    reference.array[5, 5, 5] = 1
    prediction.array[8, 5, 5] = 1
    assert evaluate_participant(prediction, reference, classes=(1,))[1].tp == 1
    prediction.array[:] = 0
    prediction.array[8, 6, 5] = 1
    assert evaluate_participant(prediction, reference, classes=(1,))[1].tp == 0


def test_voxel_and_mm_tolerances_differ_on_anisotropic_voxels():
    # spacing (x, y, z) = (1, 1, 2.5) mm: 2 slices apart is 2 voxels but 5 mm
    prediction, reference = _pair(spacing=(1.0, 1.0, 2.5))
    reference.array[5, 10, 10] = 1
    prediction.array[7, 10, 10] = 1
    assert evaluate_participant(prediction, reference, classes=(1,))[1].tp == 1  # 2 <= 3 voxels
    assert evaluate_participant(prediction, reference, classes=(1,), tolerance={1: 3.0}, unit="mm")[1].tp == 0  # 5 > 3 mm
    assert evaluate_participant(prediction, reference, classes=(1,), tolerance=5.0, unit="mm")[1].tp == 1  # 5 <= 5 mm
    # and the other way round along x: 4 columns is 4 voxels (> 3) but 4 mm (<= 5)
    prediction.array[:] = 0
    prediction.array[5, 10, 14] = 1
    assert evaluate_participant(prediction, reference, classes=(1,))[1].tp == 0
    assert evaluate_participant(prediction, reference, classes=(1,), tolerance=5.0, unit="mm")[1].tp == 1
    with pytest.raises(InputError, match="mm"):
        evaluate_participant(prediction, reference, unit="mm")  # the paper gives no mm tolerance
    with pytest.raises(InputError, match="unit"):
        evaluate_participant(prediction, reference, unit="cm")


def test_optimal_assignment_beats_greedy():
    # the docstring's example: references at x = 2 and 5, predictions at 2.5 and 0, tolerance 3.
    # greedy: (2.5 -> 2) first, then 0 is 5 from the reference at 5: one match.
    references = [[2, 0, 0], [5, 0, 0]]
    predictions = [[2.5, 0, 0], [0, 0, 0]]
    assert len(_greedy(predictions, references, 3.0)) == 1
    matches = match_lesions(predictions, references, 3.0)
    assert [(p, r) for p, r, _ in matches] == [(0, 1), (1, 0)]
    assert [d for _, _, d in matches] == pytest.approx([2.5, 2.0])


def test_matching_maximises_matches_then_minimises_distance():
    # two near misses must not beat one match plus one far miss: references at x = 0 and 6.5,
    # predictions at 3.5 and 10, tolerance 3: only (3.5 -> 6.5) is admissible (distance 3)
    assert match_lesions([[3.5, 0, 0], [10, 0, 0]], [[0, 0, 0], [6.5, 0, 0]], 3.0) == [(0, 1, 3.0)]
    # both assignments give two matches: (0->0, 1->1) totals 0.5 + 0.5 = 1, (0->1, 1->0) totals 2.5 + 1.5
    matches = match_lesions([[0, 0, 0], [2, 0, 0]], [[0.5, 0, 0], [2.5, 0, 0]], 3.0)
    assert [(p, r) for p, r, _ in matches] == [(0, 0), (1, 1)]
    # one-to-one: two predictions near one reference give one TP (the nearer) and one FP
    assert match_lesions([[0, 0, 0], [0, 0, 1]], [[0, 0, 0.8]], 3.0) == [(1, 0, pytest.approx(0.2))]
    assert match_lesions(np.zeros((0, 3)), [[0, 0, 0]], 3.0) == []


def test_grids_must_agree():
    prediction, reference = _pair()
    reference.origin = (0.0, 0.0, 5.0)
    with pytest.raises(InputError, match="not on the grid"):
        evaluate_participant(prediction, reference)
    larger, _ = _pair(shape=(20, 20, 21))
    with pytest.raises(InputError):
        evaluate_participant(larger, reference)


# --- empty participants -----------------------------------------------------------------

def test_no_reference_lesions():
    prediction, reference = _pair()
    prediction.array[3, 3, 3] = 1
    r = evaluate_participant(prediction, reference)[1]
    assert (r.tp, r.fp, r.fn) == (0, 1, 0)
    assert math.isnan(r.sensitivity) and r.precision == 0.0 and math.isnan(r.magnitude)


def test_no_predictions():
    prediction, reference = _pair()
    reference.array[3, 3, 3] = 1
    r = evaluate_participant(prediction, reference)[1]
    assert (r.tp, r.fp, r.fn) == (0, 0, 1)
    assert r.sensitivity == 0.0 and math.isnan(r.precision) and math.isnan(r.magnitude)


def test_both_empty():
    r = evaluate_participant(*_pair())[1]
    assert (r.tp, r.fp, r.fn) == (0, 0, 0)
    assert math.isnan(r.sensitivity) and math.isnan(r.precision) and math.isnan(r.magnitude)


def test_empty_participants_in_the_cohort():
    both_empty = ClassResult(tp=0, fp=0, fn=0, n_pred=0, n_ref=0)  # S NaN, P NaN, FP 0
    only_prediction = ClassResult(tp=0, fp=1, fn=0, n_pred=1, n_ref=0)  # S NaN, P 0, FP 1
    only_reference = ClassResult(tp=0, fp=0, fn=1, n_pred=0, n_ref=1)  # S 0, P NaN, FP 0
    normal = ClassResult(tp=1, fp=1, fn=0, n_pred=2, n_ref=1)  # S 1, P 0.5, FP 1
    summary = summarize_class([both_empty, only_prediction, only_reference, normal])
    assert summary["participants"] == 4
    assert summary["sensitivity"].n == 2 and summary["sensitivity"].mean == pytest.approx(0.5)  # (0 + 1) / 2
    assert summary["precision"].n == 2 and summary["precision"].mean == pytest.approx(0.25)  # (0 + 0.5) / 2
    assert summary["magnitude"].n == 1 and summary["magnitude"].mean == pytest.approx(math.hypot(1, 0.5))
    fp = summary["false_positives_per_participant"]
    assert fp.n == 4 and fp.mean == pytest.approx(0.5)  # (0 + 1 + 0 + 1) / 4: empty ones count
    assert (summary["tp"], summary["fp"], summary["fn"]) == (1, 2, 1)


# --- statistics -------------------------------------------------------------------------

def test_summary_by_hand():
    summary = summarize([0.5, 1.0, 0.75, float("nan")])
    # NaN dropped; mean 0.75; deviations -0.25, 0.25, 0: sample SD sqrt(0.125 / 2) = 0.25;
    # SEM 0.25 / sqrt(3) = 0.144338; CI 0.75 -/+ 4.302653 * 0.144338 = [0.1290, 1.3710]
    assert summary.n == 3 and summary.mean == pytest.approx(0.75)
    assert summary.sem == pytest.approx(0.144338, abs=1e-6)
    assert summary.ci_low == pytest.approx(0.75 - T_975_2 * 0.144338, abs=1e-5)
    assert summary.ci_high == pytest.approx(0.75 + T_975_2 * 0.144338, abs=1e-5)
    assert summary.ci_low == pytest.approx(0.1290, abs=1e-4)
    assert summary.text() == "0.75 ± 0.14 [0.13, 1.37]"
    one = summarize([0.5, float("nan")])
    assert one.n == 1 and one.mean == 0.5 and math.isnan(one.sem) and math.isnan(one.ci_low)
    assert one.text() == "0.50"
    none = summarize([float("nan")])
    assert none.n == 0 and math.isnan(none.mean) and none.text() == "n/a"
    assert summarize([]).n == 0


def test_magnitude_accuracy_from_means_and_per_participant():
    results = [ClassResult(1, 0, 1, 1, 2), ClassResult(2, 2, 0, 4, 2)]  # S = 0.5, 1.0; P = 1.0, 0.5
    summary = summarize_class(results)
    # the paper's definition: sqrt(mean S^2 + mean P^2) = sqrt(0.75^2 + 0.75^2) = 1.0607
    assert summary["magnitude_accuracy"] == pytest.approx(math.hypot(0.75, 0.75))
    # per participant both are sqrt(0.25 + 1) = 1.1180: a larger mean, SEM 0
    assert summary["magnitude"].mean == pytest.approx(math.hypot(0.5, 1.0))
    assert summary["magnitude"].sem == pytest.approx(0.0)
    fp = summary["false_positives_per_participant"]  # FP 0 and 2: mean 1, SD sqrt(2), SEM 1
    assert (fp.mean, fp.sem) == (pytest.approx(1.0), pytest.approx(1.0))
    assert math.isnan(summarize_class([ClassResult(0, 0, 0, 0, 0)])["magnitude_accuracy"])


def test_rank_sum():
    # exact by hand: 3 vs 3 with no overlap is the most extreme of C(6, 3) = 20 equally likely
    # splits of the ranks; two-sided p = 2 / 20 = 0.1
    assert rank_sum_test([1, 2, 3], [4, 5, 6]) == pytest.approx(0.1)
    a, b = [0.9, 0.8, 0.95, 0.85, 0.9, 0.99], [0.5, 0.6, 0.55, 0.4, 0.7, 0.65]
    p = rank_sum_test(a, b)
    assert p == pytest.approx(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    assert p < 0.05
    assert rank_sum_test(b, a) == pytest.approx(p)  # symmetric
    assert rank_sum_test(a + [float("nan")], b) == pytest.approx(p)  # NaN dropped
    assert math.isnan(rank_sum_test([], b)) and math.isnan(rank_sum_test(a, [float("nan")]))
    # the paper's sample size (24 vs 24) with ties: scipy's asymptotic test
    rng = np.random.default_rng(0)
    x, y = np.round(rng.uniform(0, 1, 24), 1), np.round(rng.uniform(0.2, 1, 24), 1)
    expected = stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=True).pvalue
    assert rank_sum_test(x, y) == pytest.approx(expected)


def test_table3_layout_marks_significance():
    # S = 1, 0.5, 1: mean 0.8333, SD 0.2887, SEM 0.1667
    summary = summarize_class([ClassResult(1, 0, 0, 1, 1), ClassResult(1, 1, 1, 2, 2), ClassResult(2, 0, 0, 2, 2)])
    table = table3_markdown([
        {"labels": "Cerebral microbleed", "modalities": "SWI", "summary": summary},
        {"labels": "Cerebral microbleed", "modalities": "SWI and QSM", "summary": summary,
         "p_values": {"sensitivity": 0.01, "precision": 0.2, "magnitude": 0.04}},
        {"labels": "Cerebral microbleed", "modalities": "SWI and T2", "summary": summary,
         "p_values": {"sensitivity": 0.05, "precision": float("nan"), "magnitude": None}},
    ])
    lines = table.splitlines()
    assert lines[0] == (
        "| Labels | Modalities | Avg Sensitivity ± SEM [95 % CI] | Avg Precision ± SEM [95 % CI] "
        "| Avg Magnitude Accuracy ± SEM [95 % CI] | False Positives per Participant |"
    )
    cells = [c.strip() for c in lines[3].strip("|").split("|")]
    assert cells[:2] == ["Cerebral microbleed", "SWI and QSM"]
    assert cells[2].startswith("0.83 ± 0.17 [") and cells[2].endswith("]*")
    assert not cells[3].endswith("*") and cells[4].endswith("*")
    assert cells[5] == "0.33"  # FP 0, 1, 0
    assert "*" not in lines[2] and "*" not in lines[4]  # baseline; p = 0.05 is not < 0.05


def test_per_participant_csv(tmp_path):
    results = {
        "sub-2": {1: ClassResult(0, 0, 1, 0, 1)},
        "sub-1": {2: ClassResult(1, 1, 0, 2, 1), 1: ClassResult(2, 0, 1, 2, 3)},
    }
    rows = per_participant_rows(results)
    assert [(r["participant"], r["class"]) for r in rows] == [("sub-1", 1), ("sub-1", 2), ("sub-2", 1)]
    path = write_per_participant_csv(results, tmp_path / "per_participant.csv")
    assert [p.name for p in tmp_path.iterdir()] == ["per_participant.csv"]
    with open(path, newline="") as handle:
        read = list(csv.DictReader(handle))
    assert list(read[0]) == PER_PARTICIPANT_COLUMNS
    assert read[0] == {"participant": "sub-1", "class": "1", "tp": "2", "fp": "0", "fn": "1", "n_pred": "2", "n_ref": "3",
                       "sensitivity": "0.6667", "precision": "1.0", "magnitude": "1.2019"}  # sqrt(4/9 + 1)
    assert (read[2]["sensitivity"], read[2]["precision"], read[2]["magnitude"]) == ("0.0", "", "")


# --- on a brain -----------------------------------------------------------------------

def _lesions_in_brain(mask: Volume) -> Volume:
    """CMBs on brain voxels of the mask, 12 voxels apart, and two iron deposits."""
    labels = mask.with_array(np.zeros(mask.shape, np.uint8))
    brain = mask.array.astype(bool)
    inside = np.argwhere(brain[8:-8, 8:-8, 8:-8]) + 8  # brain voxels away from the grid's edges
    chosen = []
    for voxel in inside[:: max(1, len(inside) // 400)]:
        if all(np.abs(voxel - c).max() >= 12 for c in chosen):
            chosen.append(voxel)
    for z, y, x in chosen[:-2]:
        labels.array[z, y, x] = 1
    for z, y, x in chosen[-2:]:
        labels.array[z, y, x : x + 2] = 2
    return labels


def test_shifted_copy_on_the_brain_grid(anatomy):
    """Lesions in the brain mask grid (85 x 85 x 57 voxels of 2 x 2 x 3 mm), evaluated
    against shifted copies of themselves."""
    reference = _lesions_in_brain(anatomy["mask"])
    n_cmb = evaluate_participant(reference, reference)[1].n_ref
    assert n_cmb >= 5
    # 2 columns (4 mm): within 3 voxels for CMB and 5 for iron -> everything matches
    near = reference.with_array(np.roll(reference.array, 2, axis=2))
    result = evaluate_participant(near, reference)
    assert (result[1].tp, result[1].fp, result[1].fn) == (n_cmb, 0, 0)
    assert (result[2].tp, result[2].sensitivity, result[2].precision) == (2, 1.0, 1.0)
    # 4 columns: beyond 3 voxels (CMBs all missed, all false positives), within 5 (iron found)
    far = reference.with_array(np.roll(reference.array, 4, axis=2))
    result = evaluate_participant(far, reference)
    assert (result[1].tp, result[1].fp, result[1].fn) == (0, n_cmb, n_cmb)
    assert result[2].tp == 2
    # 2 slices: 2 voxels but 6 mm; 2 columns: 2 voxels and 4 mm. With 5 mm, only the columns match
    down = reference.with_array(np.roll(reference.array, 2, axis=0))
    assert evaluate_participant(down, reference)[1].tp == n_cmb
    assert evaluate_participant(down, reference, tolerance=5.0, unit="mm")[1].tp == 0
    assert evaluate_participant(near, reference, tolerance=5.0, unit="mm")[1].tp == n_cmb


def test_evaluate_command(tmp_path, capsys, anatomy):
    """deepmir evaluate on the anatomy's grid: prediction folders (predict layout) vs
    reference files (datastore layout)."""
    mask = anatomy["mask"]
    for n, shift in enumerate((0, 2, 6)):
        reference = mask.with_array(np.zeros(mask.shape, np.uint8))
        reference.array[20, 40, 30] = 1
        reference.array[30, 50, 40:42] = 2
        prediction = reference.with_array(np.roll(reference.array, shift, axis=2))
        write_volume(reference, tmp_path / "reference" / f"sub-{n}.nii.gz")
        write_volume(prediction, tmp_path / "prediction" / f"sub-{n}" / "labels.nii.gz")
    out = tmp_path / "evaluation"
    assert main(["evaluate", "--prediction", str(tmp_path / "prediction"), "--reference", str(tmp_path / "reference"), "--out", str(out)]) == 0
    rows = (out / "per_participant.csv").read_text().splitlines()
    assert rows[0] == ",".join(PER_PARTICIPANT_COLUMNS) and len(rows) == 1 + 3 * 2
    # shift 6 voxels: beyond 3 (CMB) and 5 (iron) -> both missed in sub-2
    assert rows[5].startswith("sub-2,1,0,1,1") and rows[6].startswith("sub-2,2,0,1,1")
    table = (out / "summary.md").read_text(encoding="utf-8")
    assert "0.67 ± 0.33" in table  # sensitivity 1, 1, 0
    # pooled: CMB 2 found, 1 false and 1 missed (sub-2); precision averaged over all 3 participants
    assert "| Cerebral microbleed | prediction | 2 | 1 | 1 | 0.667 | 0.667 | 0.667 | 3 / 3 of 3 |" in table
    assert '"n": 3' in (out / "summary.json").read_text()
    # a missing prediction is an input error
    (tmp_path / "reference" / "sub-3.nii.gz").write_bytes((tmp_path / "reference" / "sub-0.nii.gz").read_bytes())
    assert main(["evaluate", "--prediction", str(tmp_path / "prediction"), "--reference", str(tmp_path / "reference"), "--out", str(out)]) == 2
    assert "sub-3" in capsys.readouterr().err


def test_false_positives_on_mimics():
    from DeepMIRLib.metrics import false_positives_on_mimics

    prediction, reference = _pair()
    mimics = prediction.with_array(np.zeros(prediction.shape, np.uint8))
    reference.array[5, 5, 5] = 1
    prediction.array[5, 5, 6] = 1  # matched: not a false positive, though it lies on a vein
    mimics.array[5, 5, 6] = 1
    prediction.array[12, 12, 12:14] = 1  # false positive on a vein (1) mostly, touching a calcification (2)
    mimics.array[12, 12, 12:14] = 1
    mimics.array[12, 12, 14] = 2
    prediction.array[15, 3, 3] = 2  # false positive iron deposit on a perivascular space (3)
    mimics.array[15, 3, 3] = 3
    prediction.array[2, 17, 17] = 1  # false positive on nothing
    counts = false_positives_on_mimics(prediction, reference, mimics, {1: "vein", 2: "calcification", 3: "epvs"})
    assert counts == {"vein": 1, "calcification": 0, "epvs": 1}
