"""Registration, N4 and brain mask on a simulated participant's anatomy (conftest.simulated_anatomy);
N4 on the real scan."""

import numpy as np
import SimpleITK as sitk
from conftest import make_modalities, real_scan_modalities

from DeepMIRLib.alignment import compute_brain_mask, n4_bias_correct, register_rigid
from DeepMIRLib.volumes import Volume, resample_onto


def _misaligned_t2(images, angle_deg=6.0, shift_mm=(4.0, -3.0, 2.0)):
    """T2 moved by a known rigid transform and resampled onto its own 1.5 mm grid."""
    swi = images["swi"]
    truth = sitk.Euler3DTransform()
    truth.SetCenter(swi.index_to_lps((np.array(swi.shape[::-1]) - 1) / 2).tolist())
    truth.SetRotation(0.0, 0.0, np.deg2rad(angle_deg))
    truth.SetTranslation(shift_mm)
    t2 = images["t2"].to_image()
    grid = sitk.Image([120, 120, 110], sitk.sitkFloat32)
    grid.SetSpacing((1.5, 1.5, 1.5))
    grid.SetOrigin(tuple(np.array(t2.TransformContinuousIndexToPhysicalPoint([42, 42, 28])) - 1.5 * np.array([60, 60, 55])))
    # moving(p) = t2(truth^-1(p)): resampling with the inverse puts the T2 content moved by `truth`
    moving = sitk.Resample(t2, grid, truth.GetInverse(), sitk.sitkLinear, 0.0)
    return Volume.from_image(moving, source="t2"), truth


def _brain_points(mask: Volume, step: int = 7) -> np.ndarray:
    z, y, x = np.nonzero(mask.array)
    return mask.index_to_lps(np.stack([x, y, z], axis=1)[::step].astype(float))


def test_rigid_registration_recovers_a_known_motion(anatomy):
    images = make_modalities(anatomy)
    moving, truth = _misaligned_t2(images)
    transform = register_rigid(moving, images["swi"])
    points = _brain_points(images["brainmask"])
    # registration maps SWI points to T2 points, as `truth` does
    error = np.array([np.subtract(transform.TransformPoint(p), truth.TransformPoint(p)) for p in points])
    distance = np.linalg.norm(error, axis=1)
    assert distance.mean() < 1.0 and distance.max() < 2.0, (distance.mean(), distance.max())
    again = register_rigid(moving, images["swi"])
    assert np.allclose(again.TransformPoint(points[0].tolist()), transform.TransformPoint(points[0].tolist()))
    aligned = resample_onto(moving, images["swi"], transform)
    mask = images["brainmask"].array > 0
    unaligned = resample_onto(moving, images["swi"])
    correlation = [np.corrcoef(v.array[mask], images["t2"].array[mask])[0, 1] for v in (unaligned, aligned)]
    assert correlation[1] > correlation[0] + 0.2


def test_n4_removes_a_smooth_bias(real_anatomy):
    """On the real scan (skipped without ../shared/data/qsm2016). On the simulated anatomy N4
    removes even more of the bias (86 % of its log SD, 78 % here), but the flatter simulated
    tissue leaves a residual of the bias's shape, which the correlation below measures."""
    images = real_scan_modalities(real_anatomy)
    t2 = images["t2"]
    mask = images["brainmask"].array > 0
    z, _y, x = np.indices(t2.shape)
    bias = 1.0 + 0.25 * (x / x.max() - 0.5) + 0.15 * (z / z.max() - 0.5)
    clean = np.clip(t2.array, 0, None) + 0.5 * mask  # a positive, tissue-like image
    biased = t2.with_array((clean * bias).astype(np.float32))
    corrected = n4_bias_correct(biased, images["brainmask"])
    assert corrected.shape == t2.shape and corrected.spacing == t2.spacing

    def bias_correlation(image):
        ratio = image[mask] / clean[mask]
        return abs(np.corrcoef(ratio, bias[mask])[0, 1])

    assert bias_correlation(biased.array) > 0.95
    assert bias_correlation(corrected.array) < 0.5 * bias_correlation(biased.array)


def test_brain_mask_from_swi(anatomy):
    images = make_modalities(anatomy)
    computed = compute_brain_mask(images["swi"]).array > 0
    truth = images["brainmask"].array > 0
    dice = 2 * (computed & truth).sum() / (computed.sum() + truth.sum())
    assert dice > 0.9, dice


def test_computed_brain_mask_stays_inside_the_brain(slab_cohort):
    """Voxels of background brightness inside a computed mask look like microbleeds to the
    network: the computed mask must not reach past the simulator's brain, must keep every
    lesion voxel (also at the slab's first and last slice), and detection with it must find
    what detection with the true mask finds."""
    from DeepMIRLib.modelfile import load_model
    from DeepMIRLib.pipeline import ParticipantInputs, detect
    from DeepMIRLib.volumes import read_volume

    folder = slab_cohort / "sim-41-0000"
    computed = compute_brain_mask(read_volume(folder / "swi.nii.gz")).array > 0
    truth = read_volume(folder / "brainmask.nii.gz").array > 0
    lesions = read_volume(folder / "labels.nii.gz").array > 0
    assert (computed & ~truth).sum() <= 0.001 * truth.sum(), (computed & ~truth).sum()
    assert (truth & ~computed).sum() <= 0.01 * truth.sum(), (truth & ~computed).sum()
    assert lesions.any() and not (lesions & ~computed).any()

    model = load_model("default")
    images = {name: folder / f"{name}.nii.gz" for name in ("swi", "qsm", "t2")}
    with_mask = detect(ParticipantInputs("sim-41-0000", **images, mask=folder / "brainmask.nii.gz"), model)
    without_mask = detect(ParticipantInputs("sim-41-0000", **images), model)
    assert any("brain mask computed" in note for note in without_mask.notes)
    # the mask also sets the normalisation's statistics: a borderline voxel may come or go
    for label in (1, 2):
        found = [lesion.centroid_index for lesion in without_mask.lesions if lesion.label == label]
        expected = [lesion.centroid_index for lesion in with_mask.lesions if lesion.label == label]
        assert expected and abs(len(found) - len(expected)) <= 0.1 * len(expected), (label, len(found), len(expected))
        matched = [min(np.linalg.norm(np.subtract(centre, other)) for other in expected) < 1.5 for centre in found]
        assert np.mean(matched) >= 0.9, (label, np.mean(matched))
