"""Slice-wise U-Net inference over a whole volume.

Only slices that contain brain are run, in batches of consecutive slices, so memory stays
bounded by one batch plus the output maps. Each batch is cropped to the brain's bounding box
over its own slices plus a margin, sides rounded up to multiples of 32 (preprocessing.
plan_batches: near the top and bottom of the brain the canvas is small), or placed on the
fixed canvas asked for; the network therefore sees batches of varying height and width.
CPU or CUDA is chosen automatically; on CUDA the network runs in mixed precision.

On ONNX Runtime (onnxrt) or OpenVINO (openvinort) with its export in the cache, inference
imports no torch. The device "auto" is decided without torch where the answer is certain
(`auto_device_type`): with the onnxruntime and openvino runtimes it means the CPU (they run
there only), and with no torch, or a torch built without CUDA or ROCm, there is no GPU to
find; only a torch that could have a GPU is imported and asked.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import options
from .classes import BACKGROUND
from .errors import Cancelled, InputError
from .modelfile import LoadedModel
from .preprocessing import cut_slices, paste_slices, plan_batches

if TYPE_CHECKING:
    import torch

ProgressCallback = Callable[[int, int], None]  # (slices done, slices in all)


def choose_device(requested: str = "auto") -> torch.device:
    """'auto' picks CUDA when available, else CPU; 'cpu', 'cuda', 'cuda:N' or 'mps' force
    one, and InputError says when this machine does not have it. Imports torch."""
    import torch

    requested = options.device(requested)
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError("--device", f"{requested}: no CUDA device is available on this machine (use auto or cpu)")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise InputError("--device", f"{requested}: this machine has {torch.cuda.device_count()} CUDA device(s), numbered from 0")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise InputError("--device", f"{requested}: Apple's MPS is not available on this machine (use auto or cpu)")
    return device


def torch_gpu_build() -> bool:
    """Whether the installed torch could find a GPU for "auto": True when it is imported
    already (asking it then costs nothing), or its build has CUDA or ROCm (HIP), as its
    torch/version.py records, read without importing torch; False when torch is not
    installed or is a CPU-only build (the CPU wheels, macOS)."""
    if "torch" in sys.modules:
        return True
    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        return False
    if spec is None or not spec.origin:
        return False
    try:
        text = (Path(spec.origin).parent / "version.py").read_text(encoding="utf-8")
    except OSError:
        return True  # cannot tell: ask torch
    builds = re.findall(r"^(cuda|hip)\b[^=\n]*=\s*(.+?)\s*$", text, re.MULTILINE)
    return not builds or any(value != "None" for _, value in builds)


def auto_device_type(runtime: str = "torch") -> str:
    """"cuda" or "cpu": what the device "auto" means for `runtime`, torch imported only when
    that takes asking it. ONNX Runtime and OpenVINO run on the CPU only, so with their runtimes
    (onnxrt.CPU_RUNTIMES) it is the CPU; else CUDA when available (inference.choose_device),
    known to be absent without importing torch when torch has no GPU build (`torch_gpu_build`)."""
    from .onnxrt import CPU_RUNTIMES

    if runtime in CPU_RUNTIMES or not torch_gpu_build():
        return "cpu"
    return choose_device("auto").type


def network_runtime(runtime: str, device: str | torch.device) -> str:
    """What runs the networks for `runtime` (onnxrt.RUNTIMES: "auto", "torch", "onnxruntime",
    "onnxruntime-int8", "openvino", "openvino-f32") and `device` ("auto", "cpu", "cuda[:N]", "mps" or a
    torch.device): "torch", "onnxruntime" or "openvino", decided without importing torch unless
    "auto" needs asking it. "auto" is ONNX Runtime on the CPU when the fast extra is installed,
    never OpenVINO. Raises DeepMIRError for ONNX Runtime or OpenVINO on another device than the
    CPU, or without their extra (onnxrt.wanted, openvinort.wanted)."""
    from . import onnxrt, openvinort

    if onnxrt.check_runtime(runtime) == "torch" or (runtime == "auto" and not onnxrt.available()):
        return "torch"
    if isinstance(device, str):
        requested = options.device(device)
        device_type = auto_device_type(runtime) if requested == "auto" else requested.partition(":")[0]
    else:
        device_type = device.type
    if openvinort.wanted(runtime, device_type):
        return "openvino"
    return "onnxruntime" if onnxrt.wanted(runtime, device_type) else "torch"


def is_cancelled(cancel: threading.Event | Callable[[], bool] | None) -> bool:
    if cancel is None:
        return False
    if isinstance(cancel, threading.Event):
        return cancel.is_set()
    return bool(cancel())


def predict_probabilities(
    model: LoadedModel,
    stack: np.ndarray,
    mask: np.ndarray,
    device: str | torch.device = "auto",
    batch_size: int = 8,
    canvas: str | tuple[int, int] = "auto",
    progress: ProgressCallback | None = None,
    cancel: threading.Event | Callable[[], bool] | None = None,
    runtime: str = "auto",
) -> np.ndarray:
    """Per-class foreground probabilities (K, Z, Y, X) float32 for a normalised canonical
    stack (C, Z, Y, X) and its brain mask (Z, Y, X). The network runs on batches of
    `batch_size` brain slices, each on its own canvas (`canvas` "auto": the brain's bounding
    box over the batch plus a margin; or a fixed (H, W); preprocessing.plan_batches).
    Outside the brain mask, and where no canvas reaches (a fixed canvas smaller than the
    brain), the probability is 0. `cancel` is a threading.Event or a callable returning True
    to stop (raises errors.Cancelled between batches). `runtime`: "auto" (ONNX Runtime on the CPU
    when installed, else PyTorch), "torch", "onnxruntime", "onnxruntime-int8" (the card's int8
    file; see onnxrt), "openvino" or
    "openvino-f32" (see openvinort); on ONNX Runtime or OpenVINO with the device "auto" or
    "cpu" and the model's export in the cache, torch is not imported (network_runtime)."""
    architecture = model.card.architecture
    if stack.shape[0] != architecture.in_channels:
        raise ValueError(f"stack has {stack.shape[0]} channels, the model expects {architecture.in_channels}")
    run = _network_runner(model, device, runtime)
    plans = plan_batches(mask, canvas, batch_size)
    probabilities = np.zeros((architecture.num_classes,) + stack.shape[1:], dtype=np.float32)
    total = sum(len(plan.slices) for plan in plans)
    done = 0
    for plan in plans:
        if is_cancelled(cancel):
            raise Cancelled("inference cancelled")
        paste_slices(run(cut_slices(stack, plan)), plan, probabilities)
        done += len(plan.slices)
        if progress is not None:
            progress(done, total)
    probabilities *= mask[None] > 0
    return probabilities


def _network_runner(model: LoadedModel, device: str | torch.device, runtime: str):
    """A function: batch of slices (N, C, H, W) float32 -> probabilities (N, K, H, W) float32,
    on ONNX Runtime, OpenVINO or PyTorch as `runtime` and `device` ask (network_runtime)."""
    from . import onnxrt, openvinort

    chosen = network_runtime(runtime, device)
    if chosen == "onnxruntime":
        return onnxrt.int8_network_for(model) if runtime == onnxrt.INT8 else onnxrt.network_for(model)
    if chosen == "openvino":
        return openvinort.network_for(model, runtime)
    import torch

    device = choose_device(device) if isinstance(device, str) else device
    network = model.network
    # channels-last convolutions are about 1.7x faster on CPU (measured, see BENCHMARKS.md)
    network.to(device, memory_format=torch.channels_last).eval()
    autocast = torch.autocast("cuda", dtype=torch.float16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)

    def run(slices: np.ndarray) -> np.ndarray:
        with torch.inference_mode(), autocast:
            batch = torch.from_numpy(slices).to(device, memory_format=torch.channels_last)
            return network.probabilities(network(batch)).float().cpu().numpy()

    return run


def class_argmax(probabilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index, value) of the most probable class of (K, Z, Y, X) probabilities, per voxel:
    what probabilities.argmax(axis=0) and .max(axis=0) give (the first class on ties), by
    K - 1 comparisons of whole volumes, which are twenty times faster than numpy's arg-max
    over the leading axis (0.12 s for two classes on a 192 x 256 x 120 grid)."""
    best = np.zeros(probabilities.shape[1:], dtype=np.uint8)
    highest = probabilities[0].copy()
    for k in range(1, len(probabilities)):
        higher = probabilities[k] > highest
        best[higher] = k
        np.maximum(highest, probabilities[k], out=highest)
    return best, highest


def labels_from_probabilities(probabilities: np.ndarray, class_labels: list[int], threshold: float = 0.5) -> np.ndarray:
    """0/1/2 label map from per-class probabilities (K, Z, Y, X).

    Single class: label where the probability reaches `threshold`. Several classes
    (softmax): the most probable class wins where the background probability
    (1 - sum of class probabilities) is lower than it, i.e. the arg-max of the softmax."""
    labels = np.full(probabilities.shape[1:], BACKGROUND, dtype=np.uint8)
    if len(class_labels) == 1:
        labels[probabilities[0] >= threshold] = class_labels[0]
        return labels
    background = 1.0 - probabilities.sum(axis=0)
    best, highest = class_argmax(probabilities)
    foreground = highest > background
    for k, label in enumerate(class_labels):
        labels[foreground & (best == k)] = label
    return labels
