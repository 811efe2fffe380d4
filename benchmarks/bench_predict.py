"""Time `deepmir predict` on a 256 x 192 x 120 three-modality participant for several U-Net widths.

The participant is the tests' simulated anatomy (Testing/Python/conftest.py: the simulator's
warped MNI152 brain) on a 192 x 256 x 120 grid (x, y, z) of 1 x 1 x 1.5 mm with SWI-, QSM- and
T2-weighted images (as in the tests), T2 on its own 1 mm grid so that registration is part of
the run. (The figures in BENCHMARKS.md dated 2026-11-24 used the real scan of
../shared/data/qsm2016 on the same grid instead.) Weights are untrained:
inference time does not depend on their values. Each run is a fresh `deepmir predict`
process, timed from outside (wall clock, peak resident memory from /usr/bin/time -v);
the script reports medians.

    python benchmarks/bench_predict.py                      # widths 8 16 32, 5 runs each
    python benchmarks/bench_predict.py --widths 16 --runs 3 --device cuda
    python benchmarks/bench_predict.py --widths 16 --runs 3 --runtimes torch onnxruntime   # PyTorch vs ONNX Runtime, in turn
    python benchmarks/bench_predict.py --model default --runs 5 --runtimes onnxruntime openvino openvino-f32   # OpenVINO (bf16 where the CPU has it)
    python benchmarks/bench_predict.py --model default --runs 5   # a trained model (path or registry id) instead of the widths
    python benchmarks/bench_predict.py --model QUANTIZED.json --runs 5 --runtimes onnxruntime onnxruntime-int8   # int8 (deepmir quantize)

The onnxruntime-int8 runtime needs --model with an int8 file (`deepmir quantize`); the untrained
widths have none.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Testing" / "Python"))

from conftest import make_modalities, simulated_anatomy

from DeepMIRLib.modelfile import ModelCard, save_model
from DeepMIRLib.unet import UNet2D
from DeepMIRLib.volumes import write_volume

GRID_SIZE_XYZ = (192, 256, 120)
SPACING = (1.0, 1.0, 1.5)


def load_average_1min() -> str:
    """The 1-minute load average as /proc/loadavg gives it (printed before each timed run)."""
    return Path("/proc/loadavg").read_text().split()[0]


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def runtime_versions(runtimes: list[str]) -> str:
    """The versions of the runtimes asked for, and OpenVINO's precision on this CPU (DeepMIRLib.openvinort)."""
    from importlib.metadata import PackageNotFoundError, version

    from DeepMIRLib import openvinort

    found = []
    for package in sorted({"onnxruntime" if runtime in ("auto", "onnxruntime") else runtime.partition("-")[0] for runtime in runtimes} - {"torch"}):
        try:
            found.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            found.append(f"{package} not installed")
    precisions = [f"{runtime} in {openvinort.precision(runtime)}" for runtime in runtimes if runtime in openvinort.RUNTIMES and openvinort.available()]
    return ", ".join(found + precisions)


def make_participant(folder: Path) -> None:
    images = make_modalities(simulated_anatomy(SPACING, GRID_SIZE_XYZ))
    for name in ("swi", "qsm", "brainmask"):
        write_volume(images[name], folder / f"{name}.nii.gz")
    t2 = images["t2"].to_image()
    grid = sitk.Image([200, 260, 190], sitk.sitkFloat32)  # 1 mm isotropic, its own field of view
    grid.SetDirection(t2.GetDirection())
    centre = np.array(t2.TransformContinuousIndexToPhysicalPoint([(n - 1) / 2 for n in t2.GetSize()]))
    direction = np.array(t2.GetDirection()).reshape(3, 3)
    grid.SetOrigin(tuple(centre - direction @ ((np.array(grid.GetSize()) - 1) / 2)))
    write_volume(sitk.Resample(t2, grid, sitk.Transform(), sitk.sitkLinear, 0.0), folder / "t2.nii.gz")


def make_model(folder: Path, width: int) -> Path:
    network = UNet2D(3, 2, base_width=width)
    card = ModelCard.for_network(network, f"bench-w{width}", "0", "multiclass", ["swi", "qsm", "t2"], training={"data": "untrained (benchmark)"})
    return save_model(network, card, folder / f"bench-w{width}")


def run_once(model: Path, participant: Path, out: Path, device: str, canvas: str, runtime: str = "auto") -> tuple[float, float]:
    return timed_deepmir(["predict", "--model", str(model), "--input", str(participant), "--out", str(out), "--overwrite", "--device", device,
                          "--canvas", canvas, "--runtime", runtime])


def timed_command(arguments: list[str]) -> list[str]:
    """The command line of one `deepmir ...` process under /usr/bin/time -v."""
    return ["/usr/bin/time", "-v", sys.executable, "-m", "DeepMIRLib.cli", *arguments]


def peak_memory_gb(returncode: int, stderr: str) -> float:
    """The peak resident memory (GB) that /usr/bin/time -v reported on `stderr`; the end of
    `stderr` as the error when the process failed."""
    if returncode != 0:
        raise RuntimeError(stderr[-2000:])
    return int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr).group(1)) / 1024**2


def timed_deepmir(arguments: list[str]) -> tuple[float, float]:
    """Wall time (s) and peak resident memory (GB) of one `deepmir ...` process."""
    start = time.perf_counter()
    result = subprocess.run(timed_command(arguments), capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    return seconds, peak_memory_gb(result.returncode, result.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--model", help="a model file or registry id (e.g. default) to time instead of the untrained widths")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--canvas", default="auto", help="passed to deepmir predict (auto, or 256x256 as in the paper)")
    parser.add_argument("--runtimes", nargs="+", default=["auto"],
                        help="passed to deepmir predict (auto, torch, onnxruntime, onnxruntime-int8, openvino, openvino-f32); several are "
                             "run in turn, run by run")
    args = parser.parse_args()
    if "onnxruntime-int8" in args.runtimes and not args.model:
        parser.error("--runtimes onnxruntime-int8 needs --model with an int8 file (deepmir quantize); the untrained widths have none")
    import torch

    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}, device {args.device}, canvas {args.canvas}; "
          f"{runtime_versions(args.runtimes)}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        participant = tmp / "sub-bench"
        make_participant(participant)
        print("| base width | parameters | runtime | median wall time (s) | min-max (s) | median peak memory (GB) | runs | load average before each run |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for width in [None] if args.model else args.widths:
            if width is None:
                from DeepMIRLib.modelfile import load_model

                loaded = load_model(args.model)
                model, width = args.model, loaded.card.architecture.base_width
                parameters = sum(p.numel() for p in loaded.network.parameters())
            else:
                model = make_model(tmp, width)
                parameters = sum(p.numel() for p in UNet2D(3, 2, base_width=width).parameters())
            timings: dict[str, list] = {runtime: [] for runtime in args.runtimes}
            for runtime in args.runtimes:
                run_once(model, participant, tmp / "out", args.device, args.canvas, runtime)  # warm the file cache (and the ONNX export)
            for _ in range(args.runs):  # the runtimes in turn, so that they share the machine's load
                for runtime in args.runtimes:
                    load = load_average_1min()
                    timings[runtime].append((*run_once(model, participant, tmp / "out", args.device, args.canvas, runtime), load))
            for runtime, runs in timings.items():
                seconds = [t for t, _, _ in runs]
                memory = [m for _, m, _ in runs]
                loads = ", ".join(load for _, _, load in runs)
                print(f"| {width} | {parameters / 1e6:.1f} M | {runtime} | {statistics.median(seconds):.2f} | {min(seconds):.2f}-{max(seconds):.2f} | "
                      f"{statistics.median(memory):.2f} | {args.runs} | {loads} |", flush=True)


if __name__ == "__main__":
    main()
