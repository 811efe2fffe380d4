import numpy as np
import pytest

from DeepMIRLib.classes import UNION_CLASS
from DeepMIRLib.lesions import find_lesions, label_components, lesion_counts, read_lesion_table, remove_small_lesions, write_lesion_table
from DeepMIRLib.volumes import Volume, read_volume, write_volume

OBLIQUE = tuple(np.array([[0.0, -0.8, 0.6], [-1.0, 0.0, 0.0], [0.0, -0.6, -0.8]]).flatten())  # permuted, flipped, tilted


def _volume(shape=(10, 12, 14), spacing=(0.5, 1.0, 2.0), direction=(1, 0, 0, 0, 1, 0, 0, 0, 1), origin=(0.0, 0.0, 0.0)):
    return Volume(np.zeros(shape, np.uint8), origin, spacing, direction)


def test_diagonal_neighbours_are_one_lesion():
    labels = np.zeros((5, 5, 5), np.uint8)
    labels[1, 1, 1] = 1
    labels[2, 2, 2] = 1  # touches only by a corner: one lesion under 26-connectivity
    labels[4, 4, 4] = 1  # 2 voxels away from (2,2,2) on each axis: separate
    _, count = label_components(labels)
    assert count == 2


def test_volume_centroid_and_bounding_box_on_anisotropic_grid():
    volume = _volume()
    volume.array[2:4, 5, 6:9] = 1  # 2 x 1 x 3 = 6 voxels; spacing 0.5 x 1 x 2 mm -> 1 mm3 each
    (lesion,) = find_lesions(volume)
    assert lesion.voxels == 6
    assert lesion.volume_mm3 == pytest.approx(6.0)
    assert lesion.centroid_index == pytest.approx((7.0, 5.0, 2.5))  # (i, j, k) = (x, y, z)
    # identity direction, origin 0: LPS = index * spacing
    assert lesion.centroid_lps == pytest.approx((3.5, 5.0, 5.0))
    assert lesion.bbox_index_min == (6, 5, 2) and lesion.bbox_index_max == (8, 5, 3)
    assert np.isnan(lesion.prob_max)


def test_lesion_at_a_known_patient_position_round_trips_through_nifti(tmp_path):
    volume = _volume(shape=(20, 22, 24), spacing=(0.7, 1.1, 2.3), direction=OBLIQUE, origin=(31.0, -7.5, 12.25))
    point = volume.index_to_lps([15.3, 8.8, 7.9])  # a patient position inside the volume
    centre = np.round(volume.lps_to_index(point)).astype(int)  # (i, j, k) of the voxel there
    assert tuple(centre) == (15, 9, 8)
    point = volume.index_to_lps(centre)  # the voxel centre nearest to the wanted point
    i, j, k = centre
    volume.array[k - 1 : k + 2, j - 1 : j + 2, i - 1 : i + 2] = 2  # a symmetric 3x3x3 iron deposit
    write_volume(volume, tmp_path / "labels.nii.gz")
    read_back = read_volume(tmp_path / "labels.nii.gz", dtype=np.uint8)
    (lesion,) = find_lesions(read_back)
    assert lesion.class_name == "Iron deposit"
    assert np.allclose(lesion.centroid_lps, point, atol=1e-3)


def test_probabilities_hemisphere_and_order():
    volume = _volume(shape=(6, 6, 20), spacing=(1.0, 1.0, 1.0))
    volume.array[2, 2, 2] = 2  # x index 2: LPS x = 2, right of the midline (x = 9.5)
    volume.array[3, 3, 15:17] = 1  # LPS x = 15.5: left
    volume.array[4, 4, 9:11] = 1  # centroid x = 9.5: on the midline
    probability = np.zeros(volume.shape, np.float32)
    probability[3, 3, 15] = 0.9
    probability[3, 3, 16] = 0.7
    lesions = find_lesions(volume, {1: probability, 2: probability})
    assert [(l.label, l.hemisphere) for l in lesions] == [(1, "left"), (1, "midline"), (2, "right")]
    assert [l.lesion_id for l in lesions] == [1, 2, 3]
    assert lesions[0].prob_max == pytest.approx(0.9) and lesions[0].prob_mean == pytest.approx(0.8)
    assert find_lesions(volume, midline_x_lps=20.0)[0].hemisphere == "right"


def test_minimum_size():
    labels = np.zeros((6, 6, 6), np.uint8)
    labels[1, 1, 1] = 1
    labels[3:5, 3:5, 3] = 1  # 4 voxels
    labels[0, 5, 5] = 2
    kept = remove_small_lesions(labels, 2)
    assert kept.sum() == 4 and set(np.unique(kept)) == {0, 1}
    assert len(find_lesions(_volume_with(labels), min_voxels=2)) == 1


def _volume_with(array):
    return Volume(array, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))


@pytest.mark.parametrize("suffix", [".tsv", ".csv"])
def test_table_round_trip(tmp_path, suffix, real_anatomy):
    mask = real_anatomy["mask"]
    labels = mask.with_array(np.zeros(mask.shape, np.uint8))
    labels.array[20, 40, 30] = 1
    labels.array[25:27, 45, 50] = 2
    lesions = find_lesions(labels)
    path = write_lesion_table(lesions, tmp_path / f"lesions{suffix}", participant="sub-9")
    rows = read_lesion_table(path)
    assert [r["class"] for r in rows] == ["Cerebral microbleed", "Iron deposit"]
    assert rows[1]["participant"] == "sub-9" and rows[1]["voxels"] == "2"
    assert float(rows[1]["volume_mm3"]) == pytest.approx(2 * 2.0 * 2.0 * 3.0)
    assert np.allclose([float(rows[0][f"centroid_lps_{a}"]) for a in "xyz"], labels.index_to_lps([30, 40, 20]), atol=1e-3)
    assert lesion_counts(lesions) == {"n_cmb": 1, "volume_cmb_mm3": 12.0, "n_iron": 1, "volume_iron_mm3": 24.0}


def test_union_class_names():
    labels = _volume_with(np.zeros((4, 4, 4), np.uint8))
    labels.array[1, 1, 1] = 1
    (lesion,) = find_lesions(labels, classes=(UNION_CLASS,))
    assert lesion.class_name.startswith("Lesion")
