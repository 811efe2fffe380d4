"""CPU inference with ONNX Runtime (the `fast` extra: onnxruntime and onnx).

On this project's 2-core CPU ONNX Runtime runs the U-Net faster than PyTorch, and far
faster when another process takes a core (BENCHMARKS.md), with the same probabilities to
float32 rounding. Each network is exported with its probability head once per set of weights
to an ONNX file in the cache folder ($XDG_CACHE_HOME/deepmir/onnx or ~/.cache/deepmir/onnx;
$DEEPMIR_ONNX_CACHE overrides): the U-Net with its sigmoid, or softmax without the
background (`network_for`), and a two-stage model's second stage, the 3-D candidate
classifier, with its softmax (`second_stage_for`, a candidates.Classifier). Each file is named
by the network (architecture; for the second stage also its patch), the opset and the weights
(`modelfile.LoadedModel.weights_key` and `second_stage_weights_key`: the sha256 of the
weights file that load_model verified, while the network in memory is that file's), and
written atomically (processes that export at once each write a whole file); each process
opens it once. Only the export needs torch: a process whose exports are in the cache runs
the networks without importing it. ONNX Runtime uses as many threads as PyTorch would
(`threads`: OMP_NUM_THREADS, which Dask sets to 1 per worker, else one per physical core).

`runtime` everywhere: "torch"; "onnxruntime"; "onnxruntime-int8" (the U-Net from the int8 file
that `deepmir quantize` adds to a model, DeepMIRLib.quantize; the second stage stays on its
float32 export); "openvino" or "openvino-f32" (OpenVINO on the CPU, running the same exports:
openvinort); "auto" = ONNX Runtime on the CPU when the fast extra is installed, else PyTorch
(never int8 nor OpenVINO, whose results are not float32's: they are asked for by name, and
recorded in a detection's settings: `settings`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .atomic import atomic_write
from .errors import DeepMIRError, InputError

INT8 = "onnxruntime-int8"
RUNTIMES = ("auto", "torch", "onnxruntime", INT8, "openvino", "openvino-f32")
CPU_RUNTIMES = ("onnxruntime", INT8, "openvino", "openvino-f32")  # run on the CPU only
OPSET = 17

_SESSIONS: dict[tuple[str, int], object] = {}  # (ONNX file, or "int8:<sha256>", threads) -> InferenceSession, per process


def available() -> bool:
    """True when onnxruntime and onnx (for the export) are installed."""
    try:
        return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))
    except (ImportError, ValueError):
        return False


def check_runtime(runtime: str) -> str:
    """`runtime` when it is one of RUNTIMES, else DeepMIRError."""
    if runtime not in RUNTIMES:
        raise DeepMIRError(f"unknown runtime {runtime!r} (choose one of {', '.join(RUNTIMES)})")
    return runtime


def wanted(runtime: str, device_type: str) -> bool:
    """Whether `runtime` means ONNX Runtime for a network on a `device_type` device."""
    if check_runtime(runtime) == "torch":
        return False
    if runtime in ("onnxruntime", INT8):
        if device_type != "cpu":
            raise DeepMIRError(f"the {runtime} runtime runs on the CPU only (use --device cpu, or --runtime torch)")
        if not available():
            raise DeepMIRError(f"the {runtime} runtime needs the fast extra: pip install 'DeepMIRLib[fast]'")
        return True
    return runtime == "auto" and device_type == "cpu" and available()


def cache_folder() -> Path:
    """$DEEPMIR_ONNX_CACHE, else $XDG_CACHE_HOME/deepmir/onnx, else ~/.cache/deepmir/onnx."""
    if os.environ.get("DEEPMIR_ONNX_CACHE"):
        return Path(os.environ["DEEPMIR_ONNX_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "deepmir" / "onnx"


def onnx_path(model) -> Path:
    """Where the ONNX export of `model`'s U-Net (a modelfile.LoadedModel) is kept: named by its
    architecture, the opset and `model.weights_key()`. That is the sha256 of the weights file
    load_model verified against the card (computed without torch) as long as the network in
    memory is that file's: not built yet, or built and with the same tensors (hashed to see).
    A network given in memory, replaced or changed after loading is named by the sha256 of its
    tensors in memory instead, so it never meets an export of other weights."""
    return _cached(repr(model.card.architecture), model.weights_key())


def second_stage_onnx_path(model, index: int = 0) -> Path:
    """Where the ONNX export of `model`'s (`index`-th) second-stage classifier is kept: named as
    the U-Net's is (`onnx_path`), by the card's network (architecture, width, channels, patch),
    the opset and `model.second_stage_weights_key(index)` (the sha256 of its verified
    .second.safetensors file, or of its tensors in memory)."""
    spec = model.card.second_stages[index]
    return _cached(f"second_stage {spec.architecture} width {spec.width} in {spec.in_channels} patch {spec.patch}",
                   model.second_stage_weights_key(index))


def _cached(network: str, weights_key: str) -> Path:
    """The cache file of the export of `network` (its description) with the weights `weights_key`."""
    digest = hashlib.sha256(f"{network}|opset{OPSET}|{weights_key}".encode())
    return cache_folder() / f"{digest.hexdigest()[:32]}.onnx"


def threads() -> int:
    """The threads ONNX Runtime runs on: PyTorch's intra-op thread count where torch is
    imported already (torch.set_num_threads included), else what PyTorch would choose, without
    importing it: the number of physical cores (psutil's count, or os.cpu_count()), or fewer
    where MKL_NUM_THREADS or else OMP_NUM_THREADS asks for fewer (Dask sets OMP_NUM_THREADS to
    1 in each worker)."""
    if "torch" in sys.modules:
        return sys.modules["torch"].get_num_threads()
    try:
        import psutil

        cores = psutil.cpu_count(logical=False)
    except ImportError:
        cores = None
    cores = cores or os.cpu_count() or 1
    for name in ("MKL_NUM_THREADS", "OMP_NUM_THREADS"):  # as in torch: MKL_NUM_THREADS first
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return min(int(value), cores)
    return cores


def _with_probability_head(network):
    """The network followed by its probability head (`network.probabilities`), as one module
    for the export."""
    import torch

    class WithHead(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *inputs):
            return self.inner.probabilities(self.inner(*inputs))

    return WithHead(network).eval()


def _export(network, inputs: dict[str, tuple[int, ...]], axes: dict[str, dict[int, str]], path: Path) -> Path:
    """Export `network` (U-Net or CandidateNet) with its probability head to ONNX at `path`
    (atomically): its inputs named and shaped (for the example) as `inputs`, its output
    "probabilities", the axes `axes` names (of inputs and output) left free."""
    import torch

    network = _with_probability_head(network.to("cpu", memory_format=torch.contiguous_format))
    examples = tuple(torch.zeros(shape) for shape in inputs.values())

    def write(temporary: str) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript-based exporter announces its deprecation
            torch.onnx.export(network, examples, temporary, dynamo=False, input_names=list(inputs),
                              output_names=["probabilities"], dynamic_axes=axes, opset_version=OPSET)

    return atomic_write(path, write, suffix=".onnx")


def export(model, path: Path) -> Path:
    """Export `model`'s U-Net with its probability head to ONNX at `path` (atomically): slices
    (N, C, H, W) -> probabilities (N, K, H, W)."""
    slice_axes = {0: "batch", 2: "height", 3: "width"}
    return _export(model.network, {"slices": (1, model.network.in_channels, 64, 64)},
                   {"slices": slice_axes, "probabilities": slice_axes}, path)


def export_second_stage(model, path: Path, index: int = 0) -> Path:
    """Export `model`'s (`index`-th) second-stage classifier with its softmax to ONNX at `path`
    (atomically): patches (N, C + 1, *patch) and features (N, the card's features) -> probabilities (N, 3)."""
    spec = model.card.second_stages[index]
    batch = {0: "batch"}
    return _export(model.second_stage_network(index), {"patches": (2, spec.in_channels, *spec.patch), "features": (2, len(spec.features))},
                   {"patches": batch, "features": batch, "probabilities": batch}, path)


class OnnxNetwork:
    """Callable: the network's inputs as float32 arrays, in order (the U-Net's slices (N, C, H,
    W); the second stage's patches and features) -> its probabilities."""

    def __init__(self, session):
        self.session = session
        self.inputs = [entry.name for entry in session.get_inputs()]

    def __call__(self, *arrays: np.ndarray) -> np.ndarray:
        return self.session.run(["probabilities"], feed(self.inputs, arrays))[0]


def feed(names: list[str], arrays: tuple[np.ndarray, ...]) -> dict[str, np.ndarray]:
    """The inputs of an export by name: `arrays` in the order of `names`, as contiguous float32."""
    return {name: np.ascontiguousarray(array, dtype=np.float32) for name, array in zip(names, arrays, strict=True)}


def exported_network(model) -> Path:
    """The file of `model`'s U-Net with its probability head in the cache (`onnx_path`),
    exported first (`export`, with torch) when the cache lacks it. ONNX Runtime (`network_for`)
    and OpenVINO (openvinort) both run this file."""
    return _exported(onnx_path(model), lambda path: export(model, path))


def exported_second_stage(model, index: int = 0) -> Path:
    """The file of `model`'s (`index`-th) second-stage classifier with its softmax in the cache
    (`second_stage_onnx_path`), exported first (`export_second_stage`, with torch) when the
    cache lacks it."""
    return _exported(second_stage_onnx_path(model, index), lambda path: export_second_stage(model, path, index))


def _exported(path: Path, export: Callable[[Path], Path]) -> Path:
    if not path.is_file():
        export(path)
    return path


def _session_for(path: Path) -> OnnxNetwork:
    """The export at `path` on ONNX Runtime, the session opened once per process (without torch)."""
    return _session(str(path), lambda: str(path))


def _session(name: str, source: Callable[[], str | bytes]) -> OnnxNetwork:
    """The ONNX model `source()` gives (a path, or the model's bytes) on ONNX Runtime on
    threads() threads, the session opened once per process under `name`."""
    import onnxruntime

    count = threads()
    key = (name, count)
    if key not in _SESSIONS:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = count
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        _SESSIONS[key] = onnxruntime.InferenceSession(source(), options, providers=["CPUExecutionProvider"])
    return OnnxNetwork(_SESSIONS[key])


def network_for(model) -> OnnxNetwork:
    """`model`'s U-Net on ONNX Runtime: slices (N, C, H, W) -> probabilities (N, K, H, W)."""
    return _session_for(exported_network(model))


def check_model(model, runtime: str) -> None:
    """InputError (naming --runtime) when `runtime` is "onnxruntime-int8" and `model` (a
    modelfile.LoadedModel) has no int8 file."""
    if runtime == INT8 and model.int8_file is None:
        raise InputError("--runtime", f"{INT8}: model '{model.card.name}' ({model.path}) has no int8 file; make one with "
                                      f"deepmir quantize --model MODEL --data COHORT --out QUANTIZED, then use --model QUANTIZED")


def int8_network_for(model) -> OnnxNetwork:
    """`model`'s U-Net from its card's int8 file on ONNX Runtime (slices (N, C, H, W) ->
    probabilities (N, K, H, W)): the file's bytes checked again against the card's sha256, the
    session opened once per process and file. InputError when the model has none (`check_model`)."""
    check_model(model, INT8)
    return _session(f"int8:{model.card.int8.sha256}", model.int8_bytes)


def settings(runtime: str) -> dict:
    """What a detection on `runtime` records among its settings for ONNX Runtime: {"runtime":
    "onnxruntime", "precision": "int8"} for "onnxruntime-int8" (its labels may differ from
    float32's, so a cohort run does not take one for the other); nothing for "onnxruntime"."""
    return {"runtime": "onnxruntime", "precision": "int8"} if runtime == INT8 else {}


def second_stage_for(model, index: int = 0) -> OnnxNetwork:
    """`model`'s (`index`-th) second-stage classifier on ONNX Runtime, a candidates.Classifier:
    patches and features -> probabilities (N, 3) over SECOND_STAGE_CLASSES."""
    return _session_for(exported_second_stage(model, index))
