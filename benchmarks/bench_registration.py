"""Registration settings against the simulator's known T2 motion: CPU seconds (one ITK thread),
optimizer iterations, error against the truth and distance from the first setting's transform,
over brain points of each participant. Used to choose alignment.REGISTRATION_VOXEL_MM and
REGISTRATION_SAMPLING (BENCHMARKS.md).

    deepmir simulate --n 8 --seed 200 --out heldout    # or any simulated participants
    python benchmarks/bench_registration.py heldout/sim-200-000{0..7}
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import SimpleITK as sitk

from DeepMIRLib import alignment
from DeepMIRLib.volumes import read_volume

SETTINGS = {  # name: (bin-shrunk voxel mm, sampling share per level)
    "2 mm, 10 % (before)": (2.0, 0.1),
    "2 mm, 3 %": (2.0, 0.03),
    "2 mm, 10 % then 3 %": (2.0, (0.1, 0.03)),
    "3 mm, 10 %": (3.0, 0.1),
    "3 mm, 20 % (now)": (3.0, 0.2),
}


def register(moving, fixed, voxel_mm, sampling, seed=42):
    """alignment.register_rigid with the voxel size and sampling as parameters."""
    fixed_image = alignment._bin_shrink(sitk.Cast(fixed.to_image(), sitk.sitkFloat32), voxel_mm)
    moving_image = alignment._bin_shrink(sitk.Cast(moving.to_image(), sitk.sitkFloat32), voxel_mm)
    initial = sitk.CenteredTransformInitializer(fixed_image, moving_image, sitk.Euler3DTransform(), sitk.CenteredTransformInitializerFilter.MOMENTS)
    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=32)
    method.SetMetricSamplingStrategy(method.RANDOM)
    if isinstance(sampling, tuple):
        method.SetMetricSamplingPercentagePerLevel(list(sampling), seed)
    else:
        method.SetMetricSamplingPercentage(sampling, seed)
    method.SetInterpolator(sitk.sitkLinear)
    method.SetOptimizerAsRegularStepGradientDescent(learningRate=2.0, minStep=1e-3, numberOfIterations=100, gradientMagnitudeTolerance=1e-6)
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetShrinkFactorsPerLevel([2, 1])
    method.SetSmoothingSigmasPerLevel([1.0, 0.0])
    method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    method.SetInitialTransform(initial, inPlace=False)
    with alignment._single_threaded_itk():
        transform = method.Execute(fixed_image, moving_image)
    return transform, method.GetOptimizerIteration()


def truth_transform(folder) -> sitk.Transform:
    """SWI points -> T2 points, from the manifest's T2 motion (which maps T2 to SWI)."""
    motion = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["t2_motion"]
    euler = sitk.Euler3DTransform()
    euler.SetCenter(motion["centre"])
    euler.SetRotation(*motion["rotation_rad"])
    euler.SetTranslation(motion["translation_mm"])
    return euler.GetInverse()


def main() -> None:
    from pathlib import Path

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("participants", nargs="+", type=Path, help="simulated participant folders")
    args = parser.parse_args()
    rows: dict[str, list[tuple[float, int, float, float]]] = {name: [] for name in SETTINGS}
    for folder in args.participants:
        swi, t2, mask = (read_volume(folder / f"{name}.nii.gz") for name in ("swi", "t2", "brainmask"))
        truth = truth_transform(folder)
        image = mask.to_image()
        points = [image.TransformContinuousIndexToPhysicalPoint([float(i) for i in index[::-1]]) for index in np.argwhere(mask.array > 0)[::997]]
        first = None
        for name, (voxel_mm, sampling) in SETTINGS.items():
            start = time.process_time()
            transform, iterations = register(t2, swi, voxel_mm, sampling)
            seconds = time.process_time() - start
            first = first or transform
            error = np.mean([np.linalg.norm(np.subtract(transform.TransformPoint(p), truth.TransformPoint(p))) for p in points])
            moved = max(np.linalg.norm(np.subtract(transform.TransformPoint(p), first.TransformPoint(p))) for p in points)
            rows[name].append((seconds, iterations, error, moved))
            print(f"{folder.name} {name}: {seconds:.2f} CPU s, {iterations} iterations, mean error {error:.3f} mm, "
                  f"at most {moved:.3f} mm from the first setting", flush=True)
    print("\n| setting | median CPU s | mean error against the known motion (mm) | largest distance from the first setting (mm) |")
    print("| --- | --- | --- | --- |")
    for name, values in rows.items():
        seconds, _, errors, moved = zip(*values)
        print(f"| {name} | {np.median(seconds):.2f} | {np.mean(errors):.3f} | {max(moved):.3f} |")


if __name__ == "__main__":
    main()
