"""CPU inference with OpenVINO (the `openvino` extra: openvino, and onnx for the export).

OpenVINO runs the same ONNX exports as ONNX Runtime (onnxrt: the U-Net with its probability
head, a two-stage model's second stage with its softmax, exported once per set of weights
into the cache folder; only the export needs torch), compiled once per process for the CPU.
It is opt-in, never what the runtime "auto" picks, because its precision depends on the CPU:

- `--runtime openvino`: bfloat16 where the CPU computes it natively (OpenVINO lists BF16 among
  the CPU's OPTIMIZATION_CAPABILITIES: AVX512_BF16 or AMX), else float32. On such a CPU it is
  OpenVINO's own default too, so the precision is always set explicitly (the
  INFERENCE_PRECISION_HINT), never left to the plugin.
- `--runtime openvino-f32`: float32 on every CPU (ONNX Runtime's probabilities to float32
  rounding, the same labels).

bfloat16 keeps 8 significant bits: against ONNX Runtime the probabilities moved by up to
0.06, at lesion borders, where a few voxels changed label; the lesions stayed, but for one
whose highest probability lies at a calibrated minimum probability (README). A detection on
OpenVINO records {"runtime": "openvino", "precision": "bf16" or "f32"} in its settings
(`settings`), so a result says which precision made it, and a cohort run does not take a
result of one precision for one of the other. OpenVINO ignores OMP_NUM_THREADS: its thread
count is set to ONNX Runtime's (onnxrt.threads: PyTorch's, 1 in a Dask worker).
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import onnxrt
from .errors import DeepMIRError, InputError

if TYPE_CHECKING:
    from .modelfile import LoadedModel

RUNTIMES = ("openvino", "openvino-f32")
EXTRA = "pip install 'DeepMIRLib[openvino]'"

_COMPILED: dict[tuple[str, int, str], object] = {}  # (ONNX file, threads, precision) -> CompiledModel, per process


def available() -> bool:
    """True when openvino and onnx (for the export) are installed."""
    try:
        return all(importlib.util.find_spec(name) is not None for name in ("openvino", "onnx"))
    except (ImportError, ValueError):
        return False


def wanted(runtime: str, device_type: str) -> bool:
    """Whether `runtime` (onnxrt.RUNTIMES) means OpenVINO for a network on a `device_type`
    device; InputError (naming --runtime) for OpenVINO on another device than the CPU or
    without the extra."""
    if onnxrt.check_runtime(runtime) not in RUNTIMES:
        return False
    if device_type != "cpu":
        raise InputError("--runtime", f"{runtime} runs on the CPU only, not on {device_type} (use --device cpu, or --runtime torch)")
    _check_installed(runtime)
    return True


def _check_installed(runtime: str) -> None:
    if not available():
        raise InputError("--runtime", f"{runtime} needs the openvino extra, which is not installed: {EXTRA}")


@functools.cache
def _core():
    import openvino

    return openvino.Core()


def cpu_has_bf16() -> bool:
    """Whether OpenVINO computes bfloat16 natively on this CPU (BF16 among its
    OPTIMIZATION_CAPABILITIES)."""
    return "BF16" in _core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def precision(runtime: str) -> str:
    """The inference precision that `runtime` ("openvino" or "openvino-f32") runs in on this
    CPU: "bf16" for "openvino" where the CPU has it (`cpu_has_bf16`), else "f32"."""
    if runtime not in RUNTIMES:
        raise DeepMIRError(f"{runtime!r} is not an OpenVINO runtime ({', '.join(RUNTIMES)})")
    _check_installed(runtime)
    return "bf16" if runtime == "openvino" and cpu_has_bf16() else "f32"


def settings(runtime: str) -> dict:
    """What a detection on `runtime` records among its settings for OpenVINO: {"runtime":
    "openvino", "precision": ...}; nothing on the other runtimes (onnxrt.settings says what ONNX
    Runtime in int8 records)."""
    return {"runtime": "openvino", "precision": precision(runtime)} if runtime in RUNTIMES else {}


class OpenVinoNetwork:
    """Callable: the network's inputs as float32 arrays, in order (the U-Net's slices (N, C, H,
    W); the second stage's patches and features) -> its probabilities (float32). One inference
    request per instance: one instance per thread."""

    def __init__(self, compiled: object):
        self.request = compiled.create_infer_request()
        self.inputs = [port.get_any_name() for port in compiled.inputs]

    def __call__(self, *arrays: np.ndarray) -> np.ndarray:
        return self.request.infer(onnxrt.feed(self.inputs, arrays))["probabilities"]


def _compiled_for(path: Path, precision_hint: str) -> OpenVinoNetwork:
    """The export at `path` compiled for the CPU in `precision_hint` ("bf16" or "f32") on
    onnxrt.threads() threads, once per process (without torch)."""
    count = onnxrt.threads()
    key = (str(path), count, precision_hint)
    if key not in _COMPILED:
        core = _core()
        _COMPILED[key] = core.compile_model(core.read_model(str(path)), "CPU", {
            "INFERENCE_PRECISION_HINT": precision_hint,
            "INFERENCE_NUM_THREADS": count,
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": 1,
        })
    return OpenVinoNetwork(_COMPILED[key])


def network_for(model: LoadedModel, runtime: str = "openvino") -> OpenVinoNetwork:
    """`model`'s U-Net on OpenVINO in `runtime`'s precision: slices (N, C, H, W) ->
    probabilities (N, K, H, W)."""
    return _compiled_for(onnxrt.exported_network(model), precision(runtime))


def second_stage_for(model: LoadedModel, runtime: str = "openvino", index: int = 0) -> OpenVinoNetwork:
    """`model`'s (`index`-th) second-stage classifier on OpenVINO in `runtime`'s precision, a
    candidates.Classifier: patches and features -> probabilities (N, 3) over SECOND_STAGE_CLASSES."""
    return _compiled_for(onnxrt.exported_second_stage(model, index), precision(runtime))
