"""Lesion extraction and the lesion table, on hand-built label maps with worked-out answers and on a simulated participant."""

import math

import numpy as np
import pytest

from DeepMIRLib.classes import UNION_CLASS
from DeepMIRLib.lesions import (
    TABLE_COLUMNS,
    component_maxima,
    find_lesions,
    keep_model_probabilities,
    label_components,
    lesion_counts,
    read_lesion_table,
    read_lesions,
    remove_lesions,
    remove_small_lesions,
    write_lesion_table,
)
from DeepMIRLib.volumes import Volume, read_volume, write_volume

IDENTITY = (1, 0, 0, 0, 1, 0, 0, 0, 1)
# Columns are the index axes in LPS: i -> (0, -1, 0) (anterior), j -> (-0.8, 0, -0.6),
# k -> (0.6, 0, -0.8): permuted, flipped and tilted 37 degrees; orthonormal, det +1.
OBLIQUE = tuple(np.array([[0.0, -0.8, 0.6], [-1.0, 0.0, 0.0], [0.0, -0.6, -0.8]]).flatten())


def _volume(shape=(10, 12, 14), spacing=(1.0, 1.0, 1.0), direction=IDENTITY, origin=(0.0, 0.0, 0.0)) -> Volume:
    return Volume(np.zeros(shape, np.uint8), origin, spacing, direction)


# --- components -------------------------------------------------------------------------

def test_26_connectivity():
    labels = np.zeros((6, 6, 6), np.uint8)
    labels[1, 1, 1] = 1
    labels[2, 2, 2] = 1  # touches (1,1,1) only by a corner: same lesion under 26-connectivity
    labels[3, 3, 2] = 1  # touches (2,2,2) only by an edge: same lesion
    labels[5, 5, 5] = 1  # 2 voxels from (3,3,2) along z: a gap, a second lesion
    labelled, count = label_components(labels)
    assert count == 2
    assert labelled[1, 1, 1] == labelled[2, 2, 2] == labelled[3, 3, 2] != labelled[5, 5, 5]
    # label values do not matter to label_components: any nonzero voxel is foreground
    assert label_components(labels * 2)[1] == 2
    assert label_components(np.zeros((3, 3, 3)))[1] == 0


def test_components_are_ndimages_labels_on_a_simulated_participant(slab_cohort):
    """Labelled within the lesions' bounding box, numbered as ndimage.label numbers the
    whole volume: the same array, class by class, the union, and with a lesion at a corner."""
    from scipy import ndimage

    from DeepMIRLib.lesions import CONNECTIVITY_26

    labels = read_volume(next(slab_cohort.glob("sim-*")) / "labels.nii.gz").array
    corner = labels.copy()
    corner[-1, -1, -1] = 1
    for mask in (labels == 1, labels == 2, labels > 0, corner > 0):
        labelled, count = label_components(mask)
        expected, expected_count = ndimage.label(mask, structure=CONNECTIVITY_26)
        assert count == expected_count > 0 and labelled.dtype == expected.dtype and np.array_equal(labelled, expected)


def test_remove_small_lesions_per_class():
    labels = np.zeros((6, 6, 6), np.uint8)
    labels[1, 1, 1] = 1  # CMB of 1 voxel...
    labels[1, 1, 2:5] = 2  # ...touching an iron deposit of 3 voxels: classes are separate
    labels[4, 4, 4:6] = 1  # CMB of 2 voxels
    labels[5, 0, 0] = 2  # iron deposit of 1 voxel
    original = labels.copy()
    kept = remove_small_lesions(labels, 2)
    expected = original.copy()
    expected[1, 1, 1] = 0
    expected[5, 0, 0] = 0
    assert np.array_equal(kept, expected)
    assert np.array_equal(labels, original) and kept is not labels  # a new array
    # at 3 voxels only the 3-voxel iron deposit is left
    only_iron = np.zeros_like(labels)
    only_iron[1, 1, 2:5] = 2
    assert np.array_equal(remove_small_lesions(labels, 3), only_iron)
    assert remove_small_lesions(labels, 1) is not labels and np.array_equal(remove_small_lesions(labels, 1), labels)


# --- lesion statistics ------------------------------------------------------------------

def test_volume_centroid_and_bounding_box_on_anisotropic_grid():
    volume = _volume(spacing=(0.5, 1.0, 2.0))  # (x, y, z) mm: 1 mm3 per voxel
    volume.array[2:4, 5, 6:9] = 1  # z 2..3, y 5, x 6..8: 2 x 1 x 3 = 6 voxels
    (lesion,) = find_lesions(volume)
    assert lesion.voxels == 6
    assert lesion.volume_mm3 == pytest.approx(6 * 0.5 * 1.0 * 2.0)
    assert lesion.centroid_index == pytest.approx((7.0, 5.0, 2.5))  # (i, j, k) = (x, y, z)
    # identity direction, origin 0: LPS = index * spacing = (7*0.5, 5*1, 2.5*2)
    assert lesion.centroid_lps == pytest.approx((3.5, 5.0, 5.0))
    assert lesion.bbox_index_min == (6, 5, 2) and lesion.bbox_index_max == (8, 5, 3)
    assert (lesion.id, lesion.label, lesion.class_name) == (1, 1, "Cerebral microbleed")
    assert math.isnan(lesion.prob_max) and math.isnan(lesion.prob_mean)


@pytest.mark.parametrize("dtype", [None, np.uint8])
def test_lesion_at_a_known_patient_position_round_trips_through_nifti(tmp_path, dtype):
    spacing = np.array([0.7, 1.1, 2.3])
    direction = np.asarray(OBLIQUE).reshape(3, 3)
    point = np.array([12.5, -30.25, 41.0])  # the wanted LPS position of the lesion's centroid
    centre = np.array([8, 9, 6])  # (i, j, k) of the voxel that is to lie at `point`
    # origin chosen so that index `centre` maps to `point`: point = origin + D @ (centre * spacing)
    origin = point - direction @ (centre * spacing)
    volume = _volume(shape=(14, 18, 16), spacing=tuple(spacing), direction=OBLIQUE, origin=tuple(origin))
    i, j, k = centre
    volume.array[k - 1 : k + 2, j - 1 : j + 2, i - 1 : i + 2] = 2  # 3x3x3 iron deposit centred on it
    volume.array[2, 2, 2:4] = 1  # a 2-voxel CMB: centroid index (2.5, 2, 2)
    path = write_volume(volume, tmp_path / "labels.nii.gz")
    read_back = read_volume(path) if dtype is None else read_volume(path, dtype=dtype)
    cmb, iron = find_lesions(read_back)
    assert iron.class_name == "Iron deposit" and iron.voxels == 27
    assert np.allclose(iron.centroid_lps, point, atol=1e-3)
    assert np.allclose(iron.centroid_index, centre)
    # the CMB's centroid, by hand: origin + D @ ((2.5, 2, 2) * spacing)
    assert np.allclose(cmb.centroid_lps, origin + direction @ (np.array([2.5, 2.0, 2.0]) * spacing), atol=1e-3)
    assert iron.volume_mm3 == pytest.approx(27 * 0.7 * 1.1 * 2.3, abs=1e-4)


def test_probabilities_order_and_ids():
    volume = _volume(shape=(6, 6, 20))
    volume.array[2, 2, 2] = 2
    volume.array[4, 4, 9:11] = 1  # z = 4
    volume.array[3, 3, 15:17] = 1  # z = 3: comes before the z = 4 CMB
    probability = np.zeros(volume.shape, np.float32)
    probability[3, 3, 15] = 0.9
    probability[3, 3, 16] = 0.7
    probability[2, 2, 2] = 0.55
    lesions = find_lesions(volume, {1: probability, 2: probability})
    # by class, then centroid (z, y, x); ids 1..n over the participant
    assert [(l.id, l.label, l.centroid_index[2]) for l in lesions] == [(1, 1, 3.0), (2, 1, 4.0), (3, 2, 2.0)]
    assert lesions[0].prob_max == pytest.approx(0.9) and lesions[0].prob_mean == pytest.approx(0.8)
    assert lesions[1].prob_max == 0.0
    assert lesions[2].prob_max == pytest.approx(0.55) and lesions[2].prob_mean == pytest.approx(0.55)
    # a map for one class only: the other class has NaN
    only_cmb = find_lesions(volume, {1: probability})
    assert not math.isnan(only_cmb[0].prob_max) and math.isnan(only_cmb[2].prob_max)
    with pytest.raises(ValueError, match="shape"):
        find_lesions(volume, {1: probability[:-1]})


def test_second_stage_probability_is_the_highest_known_over_the_lesion():
    volume = _volume(shape=(6, 6, 20))
    volume.array[3, 3, 15:18] = 1  # two candidates of the second stage became one lesion, and one voxel had none
    volume.array[2, 2, 2] = 2  # a lesion no classifier decided
    second = np.full(volume.shape, np.nan, np.float32)
    second[3, 3, 15], second[3, 3, 16] = 0.91, 0.97
    cmb, iron = find_lesions(volume, second_stage_probability=second)
    assert cmb.second_stage_prob == pytest.approx(0.97) and math.isnan(iron.second_stage_prob)
    assert all(math.isnan(lesion.second_stage_prob) for lesion in find_lesions(volume))  # the U-Net alone
    with pytest.raises(ValueError, match="second-stage probability map has shape"):
        find_lesions(volume, second_stage_probability=second[:-1])


def test_edited_lesions_lose_the_models_probabilities_and_the_others_keep_them():
    model = _volume(shape=(6, 6, 20))
    model.array[3, 3, 15:17] = 1
    model.array[2, 2, 2] = 2
    probability = np.full(model.shape, 0.8, np.float32)
    second = np.full(model.shape, 0.95, np.float32)
    originals = find_lesions(model, {1: probability, 2: probability}, second_stage_probability=second)
    edited = model.with_array(model.array.copy())
    edited.array[3, 3, 17] = 1  # the reader grew the microbleed by a voxel
    grown, kept = keep_model_probabilities(find_lesions(edited), originals)
    assert math.isnan(grown.prob_max) and math.isnan(grown.second_stage_prob)
    assert (kept.prob_max, kept.second_stage_prob) == (pytest.approx(0.8), pytest.approx(0.95))


def test_hemisphere():
    # 20 columns of 1 mm, origin 0, identity: the bounding box runs x = -0.5 .. 19.5, centre 9.5
    volume = _volume(shape=(6, 6, 20))
    volume.array[1, 1, 15] = 1  # LPS x 15 > 9.5: patient left (LPS +x is left)
    volume.array[2, 2, 2] = 1  # x 2: right
    volume.array[3, 3, 9:11] = 1  # centroid x 9.5: on the midline
    volume.array[5, 5, 9] = 1  # x 9: 0.5 from the midline, the voxel only touches it: right
    sides = [l.hemisphere for l in find_lesions(volume)]
    assert sides == ["left", "right", "midline", "right"]
    # an explicit midline at x = 20 puts everything on the right
    assert {l.hemisphere for l in find_lesions(volume, midline_x_lps=20.0)} == {"right"}
    # midline at x = 15.2: the x-15 CMB is 0.2 mm from it, within half a voxel
    assert find_lesions(volume, midline_x_lps=15.2)[0].hemisphere == "midline"
    # flipped x axis (index i points to patient right): LPS x = 19 - i; box centre stays 9.5
    flipped = Volume(volume.array, (19.0, 0.0, 0.0), (1.0, 1.0, 1.0), (-1, 0, 0, 0, 1, 0, 0, 0, 1))
    assert [l.hemisphere for l in find_lesions(flipped)] == ["right", "left", "midline", "left"]


def test_minimum_size_in_find_lesions():
    volume = _volume(shape=(6, 6, 6))
    volume.array[1, 1, 1] = 1
    volume.array[3:5, 3:5, 3] = 1  # 4 voxels
    volume.array[0, 5, 5] = 2
    lesions = find_lesions(volume, min_voxels=2)
    assert [(l.id, l.voxels) for l in lesions] == [(1, 4)]
    assert len(find_lesions(volume)) == 3


def test_union_class_names():
    volume = _volume(shape=(4, 4, 4))
    volume.array[1, 1, 1] = 1
    volume.array[2, 3, 3] = 2  # not a label of the union task: ignored
    (lesion,) = find_lesions(volume, classes=(UNION_CLASS,))
    assert lesion.class_name.startswith("Lesion")


# --- tables -----------------------------------------------------------------------------

def _two_lesions() -> list:
    volume = _volume(spacing=(0.5, 1.0, 2.0))
    volume.array[2, 3, 4] = 1  # 1 mm3
    volume.array[5, 6, 7:10] = 2  # 3 mm3
    probability = np.full(volume.shape, 0.123456, np.float32)
    return find_lesions(volume, {2: probability})


@pytest.mark.parametrize("suffix,delimiter", [(".tsv", "\t"), (".csv", ",")])
def test_table_round_trip(tmp_path, suffix, delimiter):
    lesions = _two_lesions()
    path = write_lesion_table(lesions, tmp_path / f"lesions{suffix}", participant="sub,9 ä")
    header = path.read_text(encoding="utf-8").splitlines()[0]
    assert header.split(delimiter) == ["participant"] + TABLE_COLUMNS
    assert [p.name for p in tmp_path.iterdir()] == [f"lesions{suffix}"]  # no temporary file left
    cmb, iron = read_lesion_table(path)
    assert cmb["participant"] == "sub,9 ä" and cmb["class"] == "Cerebral microbleed" and cmb["lesion_id"] == "1"
    assert (cmb["prob_max"], cmb["prob_mean"]) == ("", "")  # no probability map for label 1
    assert iron["voxels"] == "3" and float(iron["volume_mm3"]) == pytest.approx(3.0)
    assert iron["prob_max"] == "0.1235"  # 4 decimals
    assert [float(iron[f"centroid_{a}"]) for a in "ijk"] == [8.0, 6.0, 5.0]
    assert [float(iron[f"centroid_lps_{a}"]) for a in "xyz"] == [4.0, 6.0, 10.0]
    assert [iron[f"bbox_{a}_{e}"] for e in ("min", "max") for a in "ijk"] == ["7", "6", "5", "9", "6", "5"]
    assert iron["hemisphere"] in ("left", "right", "midline")


def test_a_table_written_before_the_second_stage_column_reads_with_nan_there(tmp_path):
    path = write_lesion_table(_two_lesions(), tmp_path / "lesions.tsv")
    lines = path.read_text(encoding="utf-8").splitlines()
    column = lines[0].split("\t").index("second_stage_prob")
    old = ["\t".join(c for k, c in enumerate(line.split("\t")) if k != column) for line in lines]
    path.write_text("\n".join(old) + "\n", encoding="utf-8")
    cmb, iron = read_lesions(path)
    assert math.isnan(cmb.second_stage_prob) and iron.voxels == 3 and iron.prob_max == pytest.approx(0.1235)


def test_table_without_participant_and_bad_suffix(tmp_path):
    path = write_lesion_table(_two_lesions(), tmp_path / "out" / "lesions.tsv")
    rows = read_lesion_table(path)
    assert list(rows[0]) == TABLE_COLUMNS and len(rows) == 2
    empty = read_lesion_table(write_lesion_table([], tmp_path / "empty.csv"))
    assert empty == []
    with pytest.raises(ValueError, match=".tsv or .csv"):
        write_lesion_table([], tmp_path / "lesions.txt")


def test_lesion_counts():
    assert lesion_counts(_two_lesions()) == {"n_cmb": 1, "volume_cmb_mm3": 1.0, "n_iron": 1, "volume_iron_mm3": 3.0}
    assert lesion_counts([]) == {"n_cmb": 0, "volume_cmb_mm3": 0.0, "n_iron": 0, "volume_iron_mm3": 0.0}


def test_lesions_in_the_brain(tmp_path, anatomy):
    """Lesions placed in the brain mask grid (85 x 85 x 57 voxels of 2 x 2 x 3 mm)."""
    mask = anatomy["mask"]
    assert mask.shape == (57, 85, 85)
    z, y, x = np.nonzero(mask.array)
    midline = float(mask.index_to_lps([x.mean(), y.mean(), z.mean()])[0])  # brain centroid x
    lps_x = mask.index_to_lps(np.stack([x, y, z], axis=1))[:, 0]
    left = np.flatnonzero(lps_x > midline + 20)[0]  # a brain voxel 20 mm left of the midline
    right = np.flatnonzero(lps_x < midline - 20)[0]
    labels = mask.with_array(np.zeros(mask.shape, np.uint8))
    labels.array[z[left], y[left], x[left]] = 1
    labels.array[z[right], y[right], x[right]] = 2
    lesions = find_lesions(labels, midline_x_lps=midline)
    assert [(l.label, l.hemisphere) for l in lesions] == [(1, "left"), (2, "right")]
    assert lesions[0].volume_mm3 == pytest.approx(2.0 * 2.0 * 3.0)
    rows = read_lesion_table(write_lesion_table(lesions, tmp_path / "lesions.tsv", participant="sub-001"))
    expected = mask.index_to_lps([x[left], y[left], z[left]])
    assert np.allclose([float(rows[0][f"centroid_lps_{a}"]) for a in "xyz"], expected, atol=1e-3)


def test_component_maxima_and_remove_lesions_as_ndimage_gives():
    """component_maxima looks only at the components' voxels; it must give what
    ndimage.maximum gives, and remove_lesions the same map as selecting by it."""
    from scipy import ndimage

    rng = np.random.default_rng(5)
    labels = np.where(rng.random((12, 40, 50)) > 0.9, rng.integers(1, 3, (12, 40, 50)), 0).astype(np.uint8)
    probabilities = {1: rng.random(labels.shape).astype(np.float32), 2: rng.random(labels.shape).astype(np.float32)}
    for value in (1, 2):
        labelled, count = label_components(labels == value)
        peaks = component_maxima(probabilities[value], labelled, count)
        assert np.array_equal(peaks, np.asarray(ndimage.maximum(probabilities[value], labelled, np.arange(1, count + 1))))
        kept = remove_lesions(labels, 2, probabilities, {1: 0.9, 2: 0.95})
        keep = (np.bincount(labelled.ravel(), minlength=count + 1)[1:] >= 2) & (peaks >= {1: 0.9, 2: 0.95}[value])
        assert np.array_equal(kept == value, np.isin(labelled, 1 + np.flatnonzero(keep)))
    assert component_maxima(probabilities[1], np.zeros(labels.shape, np.int32), 0).shape == (0,)
