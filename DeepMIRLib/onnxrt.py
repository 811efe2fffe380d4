"""CPU inference with ONNX Runtime (the `fast` extra: onnxruntime and onnx).

On this project's 2-core CPU ONNX Runtime runs the U-Net faster than PyTorch, and far
faster when another process takes a core (BENCHMARKS.md), with the same probabilities to
float32 rounding. The network and its probability head (sigmoid, or softmax without the
background) are exported once per model to an ONNX file in the cache folder
($XDG_CACHE_HOME/deepmir/onnx or ~/.cache/deepmir/onnx; $DEEPMIR_ONNX_CACHE overrides),
named by the sha256 of the weights and the architecture, written atomically (processes
that export at once each write a whole file); each process opens it once. ONNX Runtime uses as many threads as PyTorch
(torch.get_num_threads: one per core, or OMP_NUM_THREADS, which Dask sets to 1 per worker).

`runtime` everywhere: "torch"; "onnxruntime"; "auto" = ONNX Runtime on the CPU when the
fast extra is installed, else PyTorch.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
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


def wanted(runtime: str, device_type: str) -> bool:
    """Whether `runtime` means ONNX Runtime for a network on a `device_type` device."""
    if runtime not in RUNTIMES:
        raise DeepMIRError(f"unknown runtime {runtime!r} (choose one of {', '.join(RUNTIMES)})")
    if runtime == "torch":
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
    """Where the ONNX export of `model` (a modelfile.LoadedModel) is kept: named by the
    sha256 of the network's weights as they are in memory (not the card's checksum, so a
    network changed after loading never meets a stale export) and of its architecture."""
    digest = hashlib.sha256(f"{model.card.architecture!r}|opset{OPSET}".encode())
    for name, tensor in model.network.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return cache_folder() / f"{digest.hexdigest()[:32]}.onnx"


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
    """`model` on ONNX Runtime: exported on first use, the session opened once per process."""
    import onnxruntime
    import torch

    path = onnx_path(model)
    threads = torch.get_num_threads()
    key = (str(path), threads)
    if key not in _SESSIONS:
        if not path.is_file():
            export(model, path)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        _SESSIONS[key] = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return OnnxNetwork(_SESSIONS[key])
