"""Static int8 quantization of a model's U-Net for ONNX Runtime (`deepmir quantize`).

The float32 ONNX export of the U-Net with its probability head (onnxrt.exported_network, the
file `--runtime onnxruntime` runs) is quantized with ONNX Runtime's `quantize_static`: QDQ
format, weights int8 per output channel, activations uint8 with ranges (MinMax) measured on
calibration data. The calibration data are the brain slices of a few participants prepared
exactly as a detection prepares them (pipeline.prepare_participant, preprocessing.
stack_modalities, plan_batches and cut_slices: the same batches the network sees). The output
head (the last convolution and what follows it: softmax and slice, or sigmoid) stays float32,
so the probabilities near the decision come from float32 arithmetic on int8 features.

The quantized file is saved beside a copy of the model (modelfile.save_model: the card gains
an `int8` section naming the file, its sha256, the calibration participants, the nodes kept in
float32 and the onnxruntime version) and run by `--runtime onnxruntime-int8` (onnxrt); the
second stage, if any, stays on its float32 export. Needs the fast extra (onnxruntime, onnx)
and torch (for the export, when the cache lacks it, and to save the model).
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import onnxrt
from .errors import InputError
from .modelfile import Int8Spec, LoadedModel, save_model

if TYPE_CHECKING:
    import onnx

DEFAULT_PARTICIPANTS = 4
BATCH_SIZE = 8  # as `deepmir predict` (its --batch-size default), on its "auto" canvas
METHOD = {"format": "QDQ", "weights": "int8, per output channel", "activations": "uint8",
          "calibration": "MinMax over every brain slice of the calibration participants"}


def calibration_batches(model: LoadedModel, participants: list, batch_size: int = BATCH_SIZE,
                        progress: Callable[[str], None] | None = None) -> Iterator[np.ndarray]:
    """The U-Net's input batches (N, C, H, W) float32 for `participants` (pipeline.
    ParticipantInputs), one participant after another, prepared as `pipeline.detect` prepares
    them (default registration, no N4, the "auto" canvas); `progress(participant id)` after each."""
    from .pipeline import prepare_participant
    from .preprocessing import cut_slices, plan_batches, stack_modalities

    card = model.card
    for participant in participants:
        card.check_inputs(participant.modality_paths(), source=participant.swi)
        prepared = prepare_participant(participant, card.inputs)
        stack = stack_modalities(prepared.canonical, card.inputs, prepared.mask)
        for plan in plan_batches(prepared.mask, "auto", batch_size):
            yield cut_slices(stack, plan)
        if progress is not None:
            progress(participant.participant_id)


def head_nodes(onnx_model: onnx.ModelProto) -> list[str]:
    """The names of the nodes of the output head of a U-Net export (an onnx.ModelProto): the
    nodes that compute the output from the last convolution, that convolution included
    (head convolution, softmax and slice; or head convolution and sigmoid), constants left out."""
    producers = {output: node for node in onnx_model.graph.node for output in node.output}
    names: list[str] = []
    frontier = [output.name for output in onnx_model.graph.output]
    while frontier:
        node = producers.get(frontier.pop())
        if node is None or node.op_type == "Constant" or node.name in names:
            continue
        names.append(node.name)
        if node.op_type != "Conv":
            frontier.extend(node.input)
    if not any(producers[o].op_type == "Conv" for o in producers if producers[o].name in names):
        raise ValueError("the export has no convolution before its output: not a U-Net export")
    return names


class _Reader:
    """onnxruntime.quantization's CalibrationDataReader over an iterator of batches."""

    def __init__(self, batches: Iterator[np.ndarray], input_name: str):
        self.batches, self.input_name, self.count, self.slices = batches, input_name, 0, 0

    def get_next(self) -> dict | None:
        batch = next(self.batches, None)
        if batch is None:
            return None
        self.count += 1
        self.slices += len(batch)
        return {self.input_name: np.ascontiguousarray(batch, dtype=np.float32)}


@contextlib.contextmanager
def _calibration_threads(count: int | None):
    """onnxruntime.quantization opens its calibration session with ONNX Runtime's default
    threads (one per core) and offers no option for it: with `count`, its sessions are opened
    on `count` threads instead while the block runs."""
    if not count:
        yield
        return
    import onnxruntime
    from onnxruntime.quantization import calibrate

    original = calibrate.CalibraterBase.create_inference_session

    def create(self):
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
        options.intra_op_num_threads = count
        options.inter_op_num_threads = 1
        self.infer_session = onnxruntime.InferenceSession(self.augmented_model_path, sess_options=options,
                                                          providers=self.execution_providers)

    calibrate.CalibraterBase.create_inference_session = create
    try:
        yield
    finally:
        calibrate.CalibraterBase.create_inference_session = original


def quantize_network(model: LoadedModel, participants: list, out: Path, threads: int | None = None,
                     progress: Callable[[str], None] | None = None) -> tuple[Path, dict]:
    """Quantize `model`'s U-Net export to int8 at `out` (written atomically), calibrated on
    `participants`; returns (out, what the card's int8 section records besides the file)."""
    import onnx
    import onnxruntime
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from .atomic import atomic_write

    if not onnxrt.available():
        raise InputError("deepmir quantize", "needs the fast extra (onnxruntime, onnx): pip install 'DeepMIRLib[fast]'")
    exported = onnxrt.exported_network(model)
    with tempfile.TemporaryDirectory(prefix="deepmir-quantize-") as scratch:
        prepared = Path(scratch) / "prepared.onnx"
        quant_pre_process(str(exported), str(prepared), skip_symbolic_shape=True)
        graph = onnx.load(str(prepared))
        keep = head_nodes(graph)
        reader = _Reader(calibration_batches(model, participants, progress=progress), graph.graph.input[0].name)

        def write(temporary: str) -> None:
            with _calibration_threads(threads):
                quantize_static(str(prepared), temporary, reader, quant_format=QuantFormat.QDQ, per_channel=True,
                                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                                calibrate_method=CalibrationMethod.MinMax, nodes_to_exclude=keep,
                                extra_options={"CalibMovingAverage": False})

        atomic_write(out, write, suffix=".onnx")
    record = {"calibration": {"participants": [p.participant_id for p in participants], "batches": reader.count,
                              "slices": reader.slices, "batch_size": BATCH_SIZE, "canvas": "auto"},
              "float32_nodes": tuple(keep), "onnxruntime": onnxruntime.__version__, "method": dict(METHOD)}
    return out, record


def quantize_model(model: LoadedModel | str | Path, cohort: Path | str, out: Path | str, participants: int = DEFAULT_PARTICIPANTS,
                   threads: int | None = None, progress: Callable[[str], None] | None = None) -> Path:
    """Save a copy of `model` (a loaded model, a model file or a registry id) at `out` with its
    U-Net quantized to int8, calibrated on the first `participants` participant folders of
    `cohort` (sorted by name); returns the card's path. The card gains an `int8` section
    (modelfile.Int8Spec). `threads`: ONNX Runtime's threads for the calibration runs (default:
    one per core)."""
    from .modelfile import load_model, model_paths
    from .pipeline import discover_participants

    if isinstance(participants, bool) or not isinstance(participants, int) or participants < 1:
        raise InputError("--participants", f"{participants!r} is not a number of participants (at least 1)")
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    found = discover_participants(cohort)
    if len(found) < participants:
        raise InputError(cohort, f"holds {len(found)} participant(s); --participants asks for {participants}")
    chosen = found[:participants]
    card_path, _ = model_paths(out)
    card_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".deepmir-int8-", dir=card_path.parent) as scratch:
        int8, record = quantize_network(loaded, chosen, Path(scratch) / "int8.onnx", threads, progress)
        record["calibration"] = {"data": str(cohort), **record["calibration"]}
        card = dataclasses.replace(loaded.card, int8=Int8Spec(file="", sha256="", **record), weights_sha256="", created="")
        return save_model(loaded.network, card, card_path, second_stage=loaded.second_stage_networks,
                          int8=int8)
