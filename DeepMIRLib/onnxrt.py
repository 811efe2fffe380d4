"""CPU inference with ONNX Runtime (the `fast` extra: onnxruntime and onnx).

On this project's 2-core CPU ONNX Runtime runs the U-Net faster than PyTorch, and far
faster when another process takes a core (BENCHMARKS.md), with the same probabilities to
float32 rounding. The network and its probability head (sigmoid, or softmax without the
background) are exported once per model to an ONNX file in the cache folder
($XDG_CACHE_HOME/deepmir/onnx or ~/.cache/deepmir/onnx; $DEEPMIR_ONNX_CACHE overrides),
named by the weights (`modelfile.LoadedModel.weights_key`: the sha256 of the weights file
that load_model verified, while the network in memory is that file's), the architecture and
the opset, written atomically (processes that export at once each write a whole file); each
process opens it once. Only the export needs torch: a process whose export is in the cache
runs the network without importing it. ONNX Runtime uses as many threads as PyTorch would
(`threads`: OMP_NUM_THREADS, which Dask sets to 1 per worker, else one per physical core).

`runtime` everywhere: "torch"; "onnxruntime"; "auto" = ONNX Runtime on the CPU when the
fast extra is installed, else PyTorch.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from .atomic import atomic_write
from .errors import DeepMIRError

RUNTIMES = ("auto", "torch", "onnxruntime")
OPSET = 17

_SESSIONS: dict[tuple[str, int], object] = {}  # (ONNX file, threads) -> InferenceSession, per process


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
    if runtime == "onnxruntime":
        if device_type != "cpu":
            raise DeepMIRError("the onnxruntime runtime runs on the CPU only (use --device cpu, or --runtime torch)")
        if not available():
            raise DeepMIRError("the onnxruntime runtime needs the fast extra: pip install 'DeepMIRLib[fast]'")
        return True
    return device_type == "cpu" and available()


def cache_folder() -> Path:
    """$DEEPMIR_ONNX_CACHE, else $XDG_CACHE_HOME/deepmir/onnx, else ~/.cache/deepmir/onnx."""
    if os.environ.get("DEEPMIR_ONNX_CACHE"):
        return Path(os.environ["DEEPMIR_ONNX_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "deepmir" / "onnx"


def onnx_path(model) -> Path:
    """Where the ONNX export of `model` (a modelfile.LoadedModel) is kept: named by its
    architecture, the opset and `model.weights_key()`. That is the sha256 of the weights file
    load_model verified against the card (computed without torch) as long as the network in
    memory is that file's: not built yet, or built and with the same tensors (hashed to see).
    A network given in memory, replaced or changed after loading is named by the sha256 of its
    tensors in memory instead, so it never meets an export of other weights."""
    digest = hashlib.sha256(f"{model.card.architecture!r}|opset{OPSET}|{model.weights_key()}".encode())
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
    """The network followed by its probability head, as one module for the export."""
    import torch

    class WithHead(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner.probabilities(self.inner(x))

    return WithHead(network).eval()


def export(model, path: Path) -> Path:
    """Export `model`'s network with its probability head to ONNX at `path` (atomically)."""
    import torch

    network = _with_probability_head(model.network.to("cpu", memory_format=torch.contiguous_format))
    example = torch.zeros(1, model.network.in_channels, 64, 64)
    axes = {"slices": {0: "batch", 2: "height", 3: "width"}, "probabilities": {0: "batch", 2: "height", 3: "width"}}

    def write(temporary: str) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript-based exporter announces its deprecation
            torch.onnx.export(network, (example,), temporary, dynamo=False, input_names=["slices"],
                              output_names=["probabilities"], dynamic_axes=axes, opset_version=OPSET)

    return atomic_write(path, write, suffix=".onnx")


class OnnxNetwork:
    """Callable: a batch of slices (N, C, H, W) float32 -> probabilities (N, K, H, W)."""

    def __init__(self, session):
        self.session = session

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(["probabilities"], {"slices": np.ascontiguousarray(batch, dtype=np.float32)})[0]


def network_for(model) -> OnnxNetwork:
    """`model` on ONNX Runtime: exported on first use (with torch), the session opened once
    per process (without torch)."""
    import onnxruntime

    path = onnx_path(model)
    count = threads()
    key = (str(path), count)
    if key not in _SESSIONS:
        if not path.is_file():
            export(model, path)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = count
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        _SESSIONS[key] = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return OnnxNetwork(_SESSIONS[key])
