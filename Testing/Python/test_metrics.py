import math

import numpy as np
import pytest
from scipy import stats

from DeepMIRLib.cli import main
from DeepMIRLib.errors import InputError
from DeepMIRLib.metrics import (
    ClassResult,
    evaluate_participant,
    match_lesions,
    rank_sum_test,
    summarize,
    summarize_class,
    table3_markdown,
)
from DeepMIRLib.volumes import Volume, write_volume


def _pair(shape=(20, 20, 20), spacing=(1.0, 1.0, 1.0)):
    grid = dict(origin=(0.0, 0.0, 0.0), spacing=spacing, direction=(1, 0, 0, 0, 1, 0, 0, 0, 1))
    return Volume(np.zeros(shape, np.uint8), **grid), Volume(np.zeros(shape, np.uint8), **grid)


def test_counts_on_a_hand_built_pair():
    prediction, reference = _pair()
    # reference: CMBs at (z,y,x) (5,5,5), (10,10,10), (15,15,15); an iron deposit at (5,15,5)
    for z, y, x in ((5, 5, 5), (10, 10, 10), (15, 15, 15)):
        reference.array[z, y, x] = 1
    reference.array[5, 15, 4:7] = 2
    # prediction: CMB 2 voxels off the first (match), 3 off the second along one axis (match:
    # the boundary counts), none near the third (FN), one far away (FP); iron 4 voxels off (match, tolerance 5)
    prediction.array[5, 5, 7] = 1
    prediction.array[13, 10, 10] = 1
    prediction.array[2, 18, 18] = 1
    prediction.array[9, 15, 5] = 2
    result = evaluate_participant(prediction, reference)
    cmb, iron = result[1], result[2]
    assert (cmb.tp, cmb.fp, cmb.fn) == (2, 1, 1)
    assert cmb.sensitivity == pytest.approx(2 / 3) and cmb.precision == pytest.approx(2 / 3)
    assert (iron.tp, iron.fp, iron.fn) == (1, 0, 0)
    assert cmb.magnitude == pytest.approx(math.hypot(2 / 3, 2 / 3))


def test_tolerance_boundary():
    assert len(match_lesions([[0, 0, 0]], [[0, 0, 3.0]], 3.0)) == 1
    assert len(match_lesions([[0, 0, 0]], [[0, 0, 3.2]], 3.0)) == 0


def test_voxel_and_mm_tolerances_differ_on_anisotropic_voxels():
    # spacing (x, y, z) = (1, 1, 2.5) mm: 2 slices apart is 2 voxels but 5 mm
    prediction, reference = _pair(spacing=(1.0, 1.0, 2.5))
    reference.array[5, 10, 10] = 1
    prediction.array[7, 10, 10] = 1
    assert evaluate_participant(prediction, reference, classes=(1,))[1].tp == 1
    assert evaluate_participant(prediction, reference, classes=(1,), tolerance={1: 3.0}, unit="mm")[1].tp == 0
    assert evaluate_participant(prediction, reference, classes=(1,), tolerance={1: 5.0}, unit="mm")[1].tp == 1


def test_optimal_assignment_beats_greedy():
    # the docstring's example: references at x = 2 and 5, predictions at 2.5 and 0, tolerance 3
    references = [[2, 0, 0], [5, 0, 0]]
    predictions = [[2.5, 0, 0], [0, 0, 0]]
    matches = match_lesions(predictions, references, 3.0)
    assert sorted((p, r) for p, r, _ in matches) == [(0, 1), (1, 0)]
    # one-to-one: two predictions near one reference give one TP and one FP
    assert len(match_lesions([[0, 0, 0], [0, 0, 1]], [[0, 0, 0.5]], 3.0)) == 1


def test_empty_participants():
    prediction, reference = _pair()
    both_empty = evaluate_participant(prediction, reference)[1]
    assert math.isnan(both_empty.sensitivity) and math.isnan(both_empty.precision) and both_empty.fp == 0
    prediction.array[3, 3, 3] = 1
    only_prediction = evaluate_participant(prediction, reference)[1]
    assert math.isnan(only_prediction.sensitivity) and only_prediction.precision == 0 and only_prediction.fp == 1
    prediction.array[:] = 0
    reference.array[3, 3, 3] = 1
    only_reference = evaluate_participant(prediction, reference)[1]
    assert only_reference.sensitivity == 0 and math.isnan(only_reference.precision) and only_reference.fn == 1
    # in a cohort, undefined values are left out of the means and n says so
    summary = summarize_class([both_empty, only_prediction, only_reference, ClassResult(1, 1, 0, 2, 1)])
    assert summary["sensitivity"].n == 2 and summary["sensitivity"].mean == pytest.approx(0.5)
    assert summary["precision"].n == 2 and summary["precision"].mean == pytest.approx(0.25)
    assert summary["false_positives_per_participant"].mean == pytest.approx((0 + 1 + 0 + 1) / 4)


def test_grids_must_agree():
    prediction, reference = _pair()
    reference.origin = (0.0, 0.0, 5.0)
    with pytest.raises(InputError, match="not on the grid"):
        evaluate_participant(prediction, reference)


def test_summary_by_hand():
    summary = summarize([0.5, 1.0, 0.75, float("nan")])
    # mean 0.75; sample SD 0.25; SEM 0.25 / sqrt(3) = 0.1443; t(0.975, 2) = 4.303
    assert summary.n == 3 and summary.mean == pytest.approx(0.75)
    assert summary.sem == pytest.approx(0.144338, abs=1e-6)
    assert summary.ci_low == pytest.approx(0.75 - 4.302653 * 0.144338, abs=1e-5)
    assert summary.ci_high == pytest.approx(0.75 + 4.302653 * 0.144338, abs=1e-5)
    assert summary.text() == "0.75 ± 0.14 [0.13, 1.37]"
    one = summarize([0.5])
    assert one.n == 1 and math.isnan(one.sem)


def test_magnitude_accuracy_from_means():
    results = [ClassResult(1, 0, 1, 1, 2), ClassResult(2, 2, 0, 4, 2)]  # S = 0.5, 1.0; P = 1.0, 0.5
    summary = summarize_class(results)
    assert summary["magnitude_accuracy"] == pytest.approx(math.hypot(0.75, 0.75))
    assert summary["magnitude"].mean == pytest.approx(math.hypot(0.5, 1.0))


def test_rank_sum():
    a, b = [0.9, 0.8, 0.95, 0.85, 0.9, 0.99], [0.5, 0.6, 0.55, 0.4, 0.7, 0.65]
    p = rank_sum_test(a, b)
    assert p == pytest.approx(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    assert p < 0.05
    assert rank_sum_test(b, a) == pytest.approx(p)
    assert rank_sum_test(a + [float("nan")], b) == pytest.approx(p)
    assert math.isnan(rank_sum_test([], b))


def test_table3_layout_marks_significance():
    summary = summarize_class([ClassResult(1, 0, 0, 1, 1), ClassResult(1, 1, 1, 2, 2), ClassResult(2, 0, 0, 2, 2)])
    table = table3_markdown([
        {"labels": "Cerebral microbleed", "modalities": "SWI", "summary": summary},
        {"labels": "Cerebral microbleed", "modalities": "SWI + QSM", "summary": summary, "p_values": {"sensitivity": 0.01, "precision": 0.2, "magnitude": 0.04}},
    ])
    lines = table.splitlines()
    assert lines[0].startswith("| Labels | Modalities | Avg Sensitivity")
    assert "*" not in lines[2]
    assert lines[3].count("*") == 2 and "0.83 ± 0.17" in lines[3]


def test_evaluate_command(tmp_path, capsys, real_anatomy):
    """deepmir evaluate on real-anatomy grids: prediction folders (predict layout) vs
    reference files (datastore layout)."""
    mask = real_anatomy["mask"]
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
    assert len(rows) == 1 + 3 * 2
    # shift 6 voxels: beyond 3 (CMB) and 5 (iron) -> both missed in sub-2
    assert "sub-2,1,0,1,1" in rows[5] and "sub-2,2,0,1,1" in rows[6]
    table = (out / "summary.md").read_text()
    assert "0.67 ± 0.33" in table  # sensitivity 1, 1, 0
    assert '"n": 3' in (out / "summary.json").read_text()
    # a missing prediction is an input error
    (tmp_path / "reference" / "sub-3.nii.gz").write_bytes((tmp_path / "reference" / "sub-0.nii.gz").read_bytes())
    assert main(["evaluate", "--prediction", str(tmp_path / "prediction"), "--reference", str(tmp_path / "reference"), "--out", str(out)]) == 2
    assert "sub-3" in capsys.readouterr().err
