"""The evaluation module: references reduced per task, cohort evaluation with false positives
on mimics from the one matching per class, Table 3 rows, and training's IoU accounting;
checked against counts made independently here."""

import csv
import math
import shutil
from collections import Counter

import numpy as np
import pytest
from scipy import ndimage

from DeepMIRLib.errors import InputError
from DeepMIRLib.evaluation import (
    MIMIC_NAMES,
    IoUAccumulator,
    evaluate_cohort,
    evaluate_folder,
    label_files,
    read_reference,
    table3_row,
    task_tolerances,
)
from DeepMIRLib.metrics import ClassResult, Table3Row, evaluate_participant, match_class, pooled_markdown, rank_sum_test, table3_markdown
from DeepMIRLib.volumes import Volume, read_volume, write_volume

GRID = {"origin": (0.0, 0.0, 0.0), "spacing": (1.0, 1.0, 1.0), "direction": (1, 0, 0, 0, 1, 0, 0, 0, 1)}


def _volume(array) -> Volume:
    return Volume(np.asarray(array, np.uint8), **GRID)


@pytest.mark.parametrize(("task", "expected"), [
    ("multiclass", [0, 1, 2]),
    ("cmb", [0, 1, 0]),
    ("iron", [0, 0, 2]),
    ("union", [0, 1, 1]),  # union lesions carry label 1
])
def test_read_reference_reduces_to_the_task(tmp_path, task, expected):
    labels = np.zeros((4, 5, 6), np.uint8)
    labels[0, 0, :3] = [0, 1, 2]
    path = tmp_path / "labels.nii.gz"
    write_volume(Volume(labels, origin=(1.0, 2.0, 3.0), spacing=(0.5, 0.5, 1.5), direction=(1, 0, 0, 0, 1, 0, 0, 0, 1)), path)
    reference = read_reference(path, task)
    assert reference.array.dtype == np.uint8 and reference.shape == labels.shape
    assert reference.array[0, 0, :3].tolist() == expected and not reference.array[1:].any()
    assert reference.spacing == pytest.approx((0.5, 0.5, 1.5)) and reference.origin == pytest.approx((1.0, 2.0, 3.0))
    labels[0, 0, 3] = 3  # no label value: refused rather than read as background (test_bad_input has more)
    write_volume(Volume(labels, origin=(1.0, 2.0, 3.0), spacing=(0.5, 0.5, 1.5), direction=(1, 0, 0, 0, 1, 0, 0, 0, 1)), path)
    with pytest.raises(InputError, match=r"label values \[3\]"):
        read_reference(path, task)


def test_task_tolerances():
    assert task_tolerances("multiclass") is None
    assert task_tolerances("multiclass", iron=4.0) == {2: 4.0}
    assert task_tolerances("union", cmb=2.0, iron=4.0) == {1: 2.0}  # union lesions are label 1


def test_match_class_keeps_the_false_positives():
    # greedy nearest-first would match 2.5 -> 2 and lose 0 -> 2; optimal: (0 -> 2), (2.5 -> 5); 20 matches nothing
    result = match_class([[2.5, 0, 0], [0, 0, 0], [20, 0, 0]], [[2, 0, 0], [5, 0, 0]], tolerance=3.0)
    assert (result.tp, result.fp, result.fn, result.n_pred, result.n_ref) == (2, 1, 0, 3, 2)
    assert result.unmatched == (2,)
    assert match_class(np.zeros((0, 3)), [[1, 1, 1]], 3.0).unmatched == ()


def _mimic_prediction(reference: Volume, mimics: Volume, margin: int = 2) -> np.ndarray:
    """Every reference lesion, plus the mimic voxels farther than `margin` voxels from any
    lesion (so that lesions stay components of their own, matched at distance 0, and every
    mimic component is a false positive): veins and calcifications predicted as CMB,
    perivascular spaces as iron."""
    near_lesion = ndimage.binary_dilation(reference.array > 0, iterations=margin)
    prediction = reference.array.copy()
    far = (mimics.array > 0) & ~near_lesion
    prediction[far & np.isin(mimics.array, (1, 2))] = 1
    prediction[far & (mimics.array == 3)] = 2
    return prediction


def _independent_mimic_count(prediction: np.ndarray, reference: np.ndarray, mimics: np.ndarray) -> Counter:
    """Components of each class that are not reference lesions, by their majority mimic kind."""
    counts = Counter()
    for label in (1, 2):
        components, n = ndimage.label((prediction == label) & (reference != label), structure=np.ones((3, 3, 3)))
        for k in range(1, n + 1):
            kinds = mimics[components == k]
            kinds = kinds[kinds > 0]
            if kinds.size:
                counts[MIMIC_NAMES[Counter(kinds.tolist()).most_common(1)[0][0]]] += 1
    return counts


def test_cohort_mimic_false_positives_agree_with_an_independent_count(slab_cohort, tmp_path):
    participant = min(p.name for p in slab_cohort.iterdir() if p.is_dir())
    reference_folder = tmp_path / "reference" / participant
    reference_folder.mkdir(parents=True)
    shutil.copy(slab_cohort / participant / "labels.nii.gz", reference_folder)
    reference = read_volume(reference_folder / "labels.nii.gz", dtype=np.uint8)
    mimics = read_volume(slab_cohort / participant / "mimics.nii.gz", dtype=np.uint8)
    mimics.array[tuple(np.argwhere(reference.array == 1)[0])] = 1  # a vein under a detected microbleed: not a false positive
    write_volume(mimics, reference_folder / "mimics.nii.gz")
    prediction = _mimic_prediction(reference, mimics)
    write_volume(reference.with_array(prediction), tmp_path / "prediction" / participant / "labels.nii.gz")

    expected = _independent_mimic_count(prediction, reference.array, mimics.array)
    assert sum(expected.values()) >= 5 and len(expected) >= 2  # the test needs false positives of several kinds
    results = evaluate_folder(tmp_path / "prediction", label_files(tmp_path / "reference"))
    by_class = results[participant]
    # every reference lesion is predicted as it is, every mimic component is a false positive
    for label in (1, 2):
        r = by_class[label]
        assert r.fn == 0 and r.tp == r.n_ref and r.fp == len(r.unmatched)
    assert sum(r.fp for r in by_class.values()) == sum(expected.values())
    counted = Counter()
    for r in by_class.values():
        counted.update(r.on_mimics)
    assert +counted == expected

    evaluation = evaluate_cohort(tmp_path / "prediction", tmp_path / "reference")
    assert evaluation.mimics.by_participant[participant] == {name: expected[name] for name in MIMIC_NAMES.values()}
    assert evaluation.mimics.per_participant == sum(expected.values()) and evaluation.mimics.participants == 1
    evaluation.write(tmp_path / "out")
    with open(tmp_path / "out" / "lesions.csv", newline="") as handle:
        false = [row["mimic"] for row in csv.DictReader(handle) if row["outcome"] == "FP"]
    assert Counter(name for name in false if name) == expected  # each false positive names the mimic it lies on


def _write_cohort(folder, arrays: dict[str, np.ndarray], flat: bool = False):
    for participant, array in arrays.items():
        path = folder / f"{participant}.nii.gz" if flat else folder / participant / "labels.nii.gz"
        write_volume(_volume(array), path)


def test_evaluate_cohort_rows_and_summary(tmp_path):
    rng = np.random.default_rng(5)
    references, predictions, baseline = {}, {}, {}
    for k in range(4):
        reference = np.zeros((12, 12, 12), np.uint8)
        points = rng.integers(1, 11, size=(3, 3))
        for z, y, x in points:
            reference[z, y, x] = 1
        reference[2:4, 2:4, 2:4] = 2
        prediction = reference.copy()
        prediction[tuple(points[0])] = 0 if k % 2 else 1  # a miss in every other participant
        prediction[10, 1, 10] = 1 if k > 1 else 0  # a false positive in two
        references[f"p{k}"], predictions[f"p{k}"], baseline[f"p{k}"] = reference, prediction, np.zeros_like(reference)
    _write_cohort(tmp_path / "reference", references, flat=True)  # datastore layout: no mimics
    _write_cohort(tmp_path / "prediction", predictions)
    _write_cohort(tmp_path / "baseline", baseline)

    evaluation = evaluate_cohort(tmp_path / "prediction", tmp_path / "reference", baseline=tmp_path / "baseline")
    assert evaluation.mimics is None and [c.key for c in evaluation.classes] == ["cmb", "iron"]
    for participant, reference in references.items():
        assert evaluation.results[participant] == evaluate_participant(_volume(predictions[participant]), _volume(reference))
    row = evaluation.rows[0]
    assert row.labels == "Cerebral microbleed" and row.modalities == "prediction"
    cmb = [evaluation.results[p][1] for p in sorted(references)]
    base = [ClassResult(0, 0, r.n_ref, 0, r.n_ref) for r in cmb]
    for measure in ("sensitivity", "precision", "magnitude"):
        expected = rank_sum_test([getattr(r, measure) for r in cmb], [getattr(r, measure) for r in base])
        assert row.p_values[measure] == pytest.approx(expected, nan_ok=True)
    summary = evaluation.summary()
    assert set(summary) == {"cmb", "iron"} and summary["cmb"]["summary"]["sensitivity"].n == 4

    alone = evaluate_cohort(tmp_path / "prediction", tmp_path / "reference", task="union", modalities="SWI")
    assert alone.rows[0].p_values is None and alone.rows[0].modalities == "SWI" and list(alone.summary()) == ["lesion"]

    evaluation.write(tmp_path / "out")
    report = (tmp_path / "out" / "summary.md").read_text()
    assert report == evaluation.report() + "\n" and report.startswith(evaluation.table() + "\n\nPooled over participants:")
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"per_participant.csv", "lesions.csv", "summary.md", "summary.json"}

    # every lesion's outcome: the counts per participant and class, the false positive and the misses where they were put
    with open(tmp_path / "out" / "lesions.csv", newline="") as handle:
        lesions = list(csv.DictReader(handle))
    for participant in references:
        for label, r in evaluation.results[participant].items():
            outcomes = Counter(row["outcome"] for row in lesions if row["participant"] == participant and row["class"] == str(label))
            assert (outcomes["TP"], outcomes["FP"], outcomes["FN"]) == (r.tp, r.fp, r.fn)
    false = [(row["participant"], row["class"], [float(row[f"pred_centroid_{a}"]) for a in "ijk"]) for row in lesions if row["outcome"] == "FP"]
    assert ("p2", "1", [10.0, 1.0, 10.0]) in false and all(centroid == [10.0, 1.0, 10.0] for _, _, centroid in false)
    missed = [(row["participant"], [float(row[f"ref_centroid_{a}"]) for a in "ijk"]) for row in lesions if row["outcome"] == "FN"]
    missing = [p for p in sorted(references) if evaluation.results[p][1].fn]  # p3's false positive lies within 3 voxels of its miss
    assert "p1" in missing
    left_out = [(p, np.argwhere((references[p] == 1) & (predictions[p] == 0))[0][::-1].astype(float).tolist()) for p in missing]
    assert missed == left_out and all(row["pred_centroid_i"] == "" for row in lesions if row["outcome"] == "FN")
    true = [row for row in lesions if row["outcome"] == "TP"]
    for row in true:
        gap = np.linalg.norm([float(row[f"pred_centroid_{a}"]) - float(row[f"ref_centroid_{a}"]) for a in "ijk"])
        assert float(row["distance"]) == pytest.approx(gap, abs=2e-3) and gap <= {"1": 3, "2": 5}[row["class"]] and row["mimic"] == ""


def test_table3_row_is_what_the_table_renders():
    results = {"a": {1: ClassResult(1, 0, 0, 1, 1)}, "b": {1: ClassResult(1, 1, 1, 2, 2)}, "c": {1: ClassResult(2, 0, 0, 2, 2)}}
    row = table3_row("CMB", "SWI", results, 1)
    assert isinstance(row, Table3Row) and row.p_values is None
    assert row.summary["sensitivity"].mean == pytest.approx((1 + 0.5 + 1) / 3)
    as_dict = {"labels": "CMB", "modalities": "SWI", "summary": row.summary}
    assert table3_markdown([row]) == table3_markdown([as_dict])


def test_the_pooled_table_says_how_many_participants_the_averages_rest_on():
    """One false deposit in a participant without reference lesions is a precision of 0 in
    the Table 3 average; the pooled table shows the sums and the participants averaged."""
    results = {"a": {2: ClassResult(1, 0, 0, 1, 1)}, "b": {2: ClassResult(0, 1, 0, 1, 0)}, "c": {2: ClassResult(0, 0, 0, 0, 0)}}
    row = table3_row("Iron deposit", "SWI", results, 2)
    assert row.summary["precision"].mean == pytest.approx(0.5)
    assert pooled_markdown([row]).splitlines()[2] == "| Iron deposit | SWI | 1 | 1 | 0 | 1.000 | 0.500 | 0.667 | 1 / 2 of 3 |"
    nothing = table3_row("Iron deposit", "SWI", {"c": results["c"]}, 2)
    assert pooled_markdown([nothing]).splitlines()[2] == "| Iron deposit | SWI | 0 | 0 | 0 | n/a | n/a | n/a | 0 / 0 of 1 |"


@pytest.mark.parametrize(("counts", "report", "ranked", "perfect_when_empty"), [
    ((3, 1, 2), (0.6, 0.75, 2 / 3), (0.6, 0.75, 2 / 3), (0.6, 0.75, 2 / 3)),
    ((0, 2, 0), (None, 0.0, 0.0), (0.0, 0.0, 0.0), (1.0, 0.0, 0.0)),  # no reference lesion, two false
    ((0, 0, 0), (None, None, None), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
])
def test_pooled_rates_are_one_formula_with_each_callers_undefined(counts, report, ranked, perfect_when_empty):
    """The evaluation's pooled table, the U-Net's calibration and the second stage's choose
    their rates from one function; they differ only where a rate has no denominator."""
    from DeepMIRLib.calibration import ThresholdRow
    from DeepMIRLib.metrics import pooled_rates

    def triple(rates):
        return tuple(None if math.isnan(rates[k]) else pytest.approx(rates[k]) for k in ("sensitivity", "precision", "f1"))

    assert triple(pooled_rates(*counts)) == tuple(None if v is None else pytest.approx(v) for v in report)
    row = ThresholdRow(0.5, *counts).to_dict()
    assert (row["sensitivity"], row["precision"], row["f1"]) == tuple(pytest.approx(v, abs=1e-4) for v in ranked)
    assert ThresholdRow(0.5, *counts).f1 == pytest.approx(ranked[2])
    assert triple(pooled_rates(*counts, undefined=1.0)) == tuple(pytest.approx(v) for v in perfect_when_empty)


def test_iou_accumulator_against_whole_batch_sums():
    rng = np.random.default_rng(0)
    batches = [(rng.integers(0, 3, (2, 8, 8)), rng.integers(0, 3, (2, 8, 8))) for _ in range(3)]
    iou = IoUAccumulator(3)  # class 3 never occurs: IoU 0
    for prediction, target in batches:
        iou.add(prediction, target)
    prediction = np.concatenate([p for p, _ in batches])
    target = np.concatenate([t for _, t in batches])
    expected = [np.logical_and(prediction == c, target == c).sum() / np.logical_or(prediction == c, target == c).sum() for c in (1, 2)]
    np.testing.assert_allclose(iou.per_class(), [*expected, 0.0])
    assert iou.mean() == pytest.approx(sum(expected) / 3)
    assert not math.isnan(IoUAccumulator(1).mean())
