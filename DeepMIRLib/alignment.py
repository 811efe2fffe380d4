"""Bringing modalities together: rigid registration, N4 bias correction, a brain mask.

SimpleITK only. Registration follows the usual SimpleITK recipe for multi-modal rigid
alignment: Mattes mutual information, a moments-centred Euler transform, a two-level
pyramid (6 and 3 mm) on images bin-shrunk to about 3 mm, and regular-step gradient descent, with a fixed sampling
seed so that the same inputs always give the same transform.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import SimpleITK as sitk

from .errors import InputError
from .volumes import Volume, itk_error_text

# Images are bin-shrunk to about this voxel size and the metric samples this share of their voxels.
# 3 mm and 20 % fit about as well as 2 mm and 10 % (mean error against the simulator's known T2
# motion 0.360 vs 0.354 mm over 8 held-out participants; transforms within 0.27 mm of each other
# in the brain) in a third of the time (median 0.78 instead of 2.48 CPU seconds):
# benchmarks/bench_registration.py, BENCHMARKS.md.
REGISTRATION_VOXEL_MM = 3.0
REGISTRATION_SAMPLING = 0.2


def _bin_shrink(image: sitk.Image, voxel_mm: float = REGISTRATION_VOXEL_MM) -> sitk.Image:
    """Average voxels in blocks so that they are about `voxel_mm` wide: registering at full
    resolution costs seconds and gains nothing measurable for a rigid fit of 1-1.5 mm images."""
    factors = [max(1, int(voxel_mm // spacing)) for spacing in image.GetSpacing()]
    return sitk.BinShrink(image, factors)


@contextmanager
def _single_threaded_itk():
    """ITK's default thread count set to one for the duration. The Mattes metric sums over
    threads in an order that varies from run to run on a busy machine (transform parameters
    differing in the 10th digit, enough to change trained weights bitwise); with one thread
    the same images always give the same transform. The method's own SetNumberOfThreads is
    not enough: the metric takes the global default."""
    previous = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
    try:
        yield
    finally:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(previous)


def register_rigid(moving: Volume, fixed: Volume, seed: int = 42) -> sitk.Transform:
    """Rigid transform mapping points of `fixed` to points of `moving` (what sitk.Resample and
    volumes.resample_onto want). The metric is sampled over the whole field of view: the
    brain's outline carries much of the mutual information, and restricting the metric to
    the brain mask made cross-modal fits worse (2.4 mm instead of 0.05 mm mean error in
    Testing/Python/test_alignment.py). A fixed sampling `seed` (not 0) makes runs repeatable."""
    fixed_image = _bin_shrink(sitk.Cast(fixed.to_image(), sitk.sitkFloat32))
    moving_image = _bin_shrink(sitk.Cast(moving.to_image(), sitk.sitkFloat32))
    initial = sitk.CenteredTransformInitializer(
        fixed_image, moving_image, sitk.Euler3DTransform(), sitk.CenteredTransformInitializerFilter.MOMENTS
    )
    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=32)
    method.SetMetricSamplingStrategy(method.RANDOM)
    method.SetMetricSamplingPercentage(REGISTRATION_SAMPLING, seed)  # seed 0 would mean "from the clock" in SimpleITK
    method.SetInterpolator(sitk.sitkLinear)
    method.SetOptimizerAsRegularStepGradientDescent(
        learningRate=2.0, minStep=1e-3, numberOfIterations=100, gradientMagnitudeTolerance=1e-6
    )
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetShrinkFactorsPerLevel([2, 1])
    method.SetSmoothingSigmasPerLevel([1.0, 0.0])
    method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    method.SetInitialTransform(initial, inPlace=False)
    try:
        with _single_threaded_itk():
            return method.Execute(fixed_image, moving_image)
    except RuntimeError as err:  # e.g. too few voxels overlap for the metric
        raise InputError(moving.source, f"could not be registered to SWI ({itk_error_text(err)}); check that the images show "
                                        "the same head, or pass images already on the SWI grid with --register never") from None


def n4_bias_correct(volume: Volume, mask: Volume | None = None, shrink: int = 4, iterations: int = 50) -> Volume:
    """N4 bias-field correction. The field is estimated on a `shrink`-times smaller image
    for speed and divided out of the full-resolution image; geometry is kept."""
    image = sitk.Cast(volume.to_image(), sitk.sitkFloat32)
    # N4 works on a log scale: shift so that the image is strictly positive
    offset = float(max(0.0, -volume.array.min())) + 1e-3
    positive = image + offset
    mask_image = sitk.Cast(mask.to_image() > 0, sitk.sitkUInt8) if mask is not None else sitk.OtsuThreshold(positive, 0, 1, 200)
    factors = [max(1, min(shrink, size // 4)) for size in image.GetSize()]  # keep 4 voxels along thin axes
    small = sitk.Shrink(positive, factors)
    small_mask = sitk.Shrink(mask_image, factors)
    corrector = sitk.N4BiasFieldCorrectionImageFilter()
    corrector.SetMaximumNumberOfIterations([iterations] * 3)
    try:
        corrector.Execute(small, small_mask)
    except RuntimeError as err:
        raise InputError(volume.source, f"N4 bias correction failed ({itk_error_text(err)}); run without --n4") from None
    log_bias = corrector.GetLogBiasFieldAsImage(positive)
    corrected = positive / sitk.Exp(log_bias) - offset
    return Volume.from_image(sitk.Cast(corrected, sitk.sitkFloat32), source=volume.source)


def compute_brain_mask(swi: Volume) -> Volume:
    """A foreground mask of an SWI magnitude image (uint8 0/1, same grid).

    Smooth (1 mm Gaussian), Otsu threshold, keep the largest 26-connected component and close
    small gaps (2 voxels); then drop the voxels whose unsmoothed intensity is below half the
    threshold (the smoothing and closing reach about a voxel into the background, and
    background-dark voxels inside the mask look like microbleeds to the network: 66-86
    detections instead of 4-10 on simulated participants) and fill the holes that are enclosed
    in 3-D (dark lesions, veins and iron inside the brain). On skull-stripped or simulated
    images this is the brain; on real images with scalp and skull it is a head mask, and a
    brain mask from a dedicated tool (e.g. SynthStrip, HD-BET) should be given."""
    image = sitk.Cast(swi.to_image(), sitk.sitkFloat32)
    otsu = sitk.OtsuThresholdImageFilter()
    otsu.SetInsideValue(0)
    otsu.SetOutsideValue(1)
    otsu.SetNumberOfHistogramBins(200)
    foreground = otsu.Execute(sitk.SmoothingRecursiveGaussian(image, 1.0))
    largest = sitk.RelabelComponent(sitk.ConnectedComponent(foreground, True), sortByObjectSize=True) == 1
    closed = sitk.BinaryMorphologicalClosing(largest, [2, 2, 2])
    bright_enough = sitk.GetArrayFromImage(image) > otsu.GetThreshold() / 2
    array = _fill_enclosed_holes(sitk.GetArrayFromImage(closed) > 0, bright_enough)
    if not array.any():
        raise InputError(swi.source, "no foreground found for a brain mask; give one (--mask, or a brainmask image beside SWI)")
    return swi.with_array(array)


def _fill_enclosed_holes(outline: np.ndarray, bright_enough: np.ndarray) -> np.ndarray:
    """`outline & bright_enough` with its 3-D holes filled, largest component kept. The volume
    is padded by one voxel of `outline` on every side first, so that a dark lesion cut by the
    field of view's edge (a slab acquisition's first or last slice) counts as enclosed."""
    padded = np.pad(outline & bright_enough, 1)
    for axis in range(3):
        for side, source in ((0, 0), (-1, -1)):
            index = [slice(1, -1)] * 3
            index[axis] = side
            take = [slice(None)] * 3
            take[axis] = source
            padded[tuple(index)] = outline[tuple(take)]
    filled = sitk.BinaryFillhole(sitk.GetImageFromArray(padded.astype(np.uint8)))
    largest = sitk.RelabelComponent(sitk.ConnectedComponent(filled, True), sortByObjectSize=True) == 1
    return sitk.GetArrayFromImage(largest)[1:-1, 1:-1, 1:-1].astype(np.uint8)
