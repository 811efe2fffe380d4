"""Model files: safetensors weights plus a JSON model card, and the model registry.

A model is two files side by side: `<name>.safetensors` (the weights, never pickled) and
`<name>.json` (the card: architecture and width, input modalities in order, task, classes
with names and colours, normalisation, training provenance, metrics, version, and the
sha256 of the weights). Loading checks the card field by field (types, sizes, classes that
fit the task), requires and checks the checksum, compares the weights' tensor names and
shapes with those of the card's network (computed from the architecture: no network is
built), and refuses NaN or infinite weights.

Loading needs no torch: the PyTorch network (`LoadedModel.network`, and the second stage's
`LoadedModel.second_stage`) is built from the checked weights file the first time something
asks for it (inference on PyTorch, training, the ONNX exports), and its file is checked
against the same sha256 again then. A detection on ONNX Runtime whose exports are in the cache
(onnxrt: the U-Net's, and the second stage's for a two-stage model) never imports torch.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import __version__, options
from .atomic import atomic_write, write_text_atomic
from .classes import MODALITIES, TASK_CLASSES, LesionClass, classes_for_task
from .errors import InputError
from .options import MAX_BASE_WIDTH
from .preprocessing import NORMALISATION
from .registry import REGISTRY_PATH, read_registry
from .results import ModelSummary
from .secondstagespec import SecondStageSpec

if TYPE_CHECKING:  # the networks need torch: imported where they are built
    from .secondstage import CandidateNet
    from .unet import UNet2D

CARD_FORMAT = "deepmir-model-card"
CARD_FORMAT_VERSION = 1
MAX_CARD_BYTES = 16 * 2**20  # a card is a small JSON file
MAX_LEVELS = 6  # canvases are multiples of 32 = 2**(levels - 1) (preprocessing.NETWORK_MULTIPLE)
# JSON type of each card field; the first six are required
CARD_FIELD_TYPES = {
    "name": str, "version": str, "task": str, "inputs": list, "architecture": dict, "classes": list,
    "normalisation": dict, "training": dict, "metrics": dict, "postprocessing": dict, "description": str,
    "intended_use": str, "weights_sha256": str, "created": str, "deepmir_version": str, "format": str, "format_version": int,
    # optional: the 3-D candidate classifier (secondstage.SecondStageSpec), or a list of them,
    # each deciding its own classes (ModelCard.second_stages)
    "second_stage": (dict, list),
    "int8": dict,  # optional: the U-Net quantized to int8 for ONNX Runtime (Int8Spec, `deepmir quantize`)
}
REQUIRED_CARD_FIELDS = ("name", "version", "task", "inputs", "architecture", "classes")
MAX_SECOND_STAGES = 4  # one classifier per lesion class, or two (echo_times: one for short echo times, one for long ones)


@dataclass(frozen=True)
class Architecture:
    """The network a card describes (the only kind so far: the paper's 2-D U-Net)."""

    name: str  # "unet2d"
    levels: int
    base_width: int
    in_channels: int
    num_classes: int
    head: str  # "sigmoid" (one class) or "softmax"
    head_relu: bool = False
    size_multiple: int = 32  # slice sides must be multiples of this

    @classmethod
    def of(cls, network: UNet2D) -> Architecture:
        return cls("unet2d", network.levels, network.base_width, network.in_channels, network.num_classes,
                   "sigmoid" if network.num_classes == 1 else "softmax", network.head_relu, network.size_multiple)

    @classmethod
    def from_dict(cls, data: dict, source: object = None) -> Architecture:
        """The architecture a card describes, each field checked for type and range, so that
        a damaged card cannot make DeepMIR build a network of absurd size."""
        if not isinstance(data, dict) or data.get("name") != "unet2d":
            raise InputError(source, f"unknown architecture {data.get('name') if isinstance(data, dict) else data!r}")
        limits = {"levels": (2, MAX_LEVELS), "base_width": (1, MAX_BASE_WIDTH), "in_channels": (1, len(MODALITIES)),
                  "num_classes": (1, 2), "size_multiple": (4, 2**MAX_LEVELS)}
        fields = set(cls.__dataclass_fields__)
        if not set(data) <= fields or not {"levels", "base_width", "in_channels", "num_classes", "head"} <= set(data):
            raise InputError(source, f"model card architecture must give levels, base_width, in_channels, num_classes and head "
                                     f"(optionally head_relu, size_multiple); it has {sorted(data)}")
        for name, (low, high) in limits.items():
            value = data.get(name, 2 ** (data["levels"] - 1) if name == "size_multiple" and isinstance(data["levels"], int) else None)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InputError(source, f"model card architecture: {name} {value!r} is not a whole number from {low} to {high}")
        if data["head"] != ("sigmoid" if data["num_classes"] == 1 else "softmax") or not isinstance(data.get("head_relu", False), bool):
            raise InputError(source, f"model card architecture: head {data['head']!r} (head_relu {data.get('head_relu')!r}) does not fit "
                                     f"{data['num_classes']} class(es): sigmoid for one, softmax for two")
        if data.get("size_multiple", 2 ** (data["levels"] - 1)) != 2 ** (data["levels"] - 1):
            raise InputError(source, f"model card architecture: size_multiple {data['size_multiple']} is not 2**(levels - 1)")
        return cls(**data)

    def build_network(self) -> UNet2D:
        """The network this architecture describes (needs torch), with fresh weights."""
        from .unet import UNet2D

        return UNet2D(self.in_channels, self.num_classes, self.base_width, self.levels, self.head_relu)

    def tensor_shapes(self) -> dict[str, tuple[tuple[int, ...], bool]]:
        """Name -> (shape, floating point) of each tensor of `build_network()`'s state_dict,
        computed without torch (a test compares them with the network's)."""
        shapes: dict[str, tuple[tuple[int, ...], bool]] = {}

        def conv_block(prefix: str, channels_in: int, channels_out: int) -> None:  # unet.ConvBlock
            for index, channels in ((0, channels_in), (3, channels_out)):
                shapes[f"{prefix}.{index}.weight"] = ((channels_out, channels, 3, 3), True)
                norm = f"{prefix}.{index + 1}"
                shapes.update({f"{norm}.{name}": ((channels_out,), True) for name in ("weight", "bias", "running_mean", "running_var")})
                shapes[f"{norm}.num_batches_tracked"] = ((), False)

        widths = [self.base_width * 2**level for level in range(self.levels)]
        channels = self.in_channels
        for index, width in enumerate(widths[:-1]):
            conv_block(f"down.{index}", channels, width)
            channels = width
        conv_block("bottom", widths[-2], widths[-1])
        for index, level in enumerate(reversed(range(self.levels - 1))):
            shapes[f"up.{index}.up.weight"] = ((widths[level + 1], widths[level], 2, 2), True)
            shapes[f"up.{index}.up.bias"] = ((widths[level],), True)
            conv_block(f"up.{index}.conv", 2 * widths[level], widths[level])
        outputs = 1 if self.num_classes == 1 else self.num_classes + 1
        shapes["head.weight"] = ((outputs, widths[0], 1, 1), True)
        shapes["head.bias"] = ((outputs,), True)
        return shapes


INT8_SUFFIX = ".int8.onnx"  # <name>.int8.onnx beside the card


@dataclass(frozen=True)
class Int8Spec:
    """The card's optional `int8` section: the U-Net (with its probability head) statically
    quantized to int8 for ONNX Runtime (`deepmir quantize`, DeepMIRLib.quantize), run by
    `--runtime onnxruntime-int8`. The file lies beside the card and is checked against
    `sha256` when the model is loaded, like the weights; `weights_sha256` is the sha256 of the
    float32 weights file it was quantized from (the card's own, checked on load too).
    `calibration` says which participants gave the activation ranges, `float32_nodes` which
    nodes of the ONNX graph were left in float32 (the output head), `onnxruntime` the version
    that quantized it, `method` the quantization's settings."""

    file: str
    sha256: str
    weights_sha256: str = ""
    calibration: dict = field(default_factory=dict)
    float32_nodes: tuple[str, ...] = ()
    onnxruntime: str = ""
    method: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["float32_nodes"] = list(self.float32_nodes)
        return data

    @classmethod
    def from_dict(cls, data: object, source: object = None) -> Int8Spec:
        """The section, checked field by field."""
        if not isinstance(data, dict):
            raise InputError(source, f"model card int8 must be an object, not {type(data).__name__}")
        known = set(cls.__dataclass_fields__)
        if not set(data) <= known or not {"file", "sha256"} <= set(data):
            raise InputError(source, f"model card int8 must give file and sha256 (optionally "
                                     f"{', '.join(sorted(known - {'file', 'sha256'}))}); it has {sorted(data)}")
        for name in ("file", "sha256", "weights_sha256", "onnxruntime"):
            if not isinstance(data.get(name, ""), str):
                raise InputError(source, f"model card int8: {name} must be a string")
        if not data["file"] or Path(data["file"]).name != data["file"]:
            raise InputError(source, f"model card int8: file {data['file']!r} must be a file name beside the card")
        for name in ("sha256", "weights_sha256"):
            if (data.get(name) or name == "sha256") and not re.fullmatch(r"[0-9a-f]{64}", data.get(name, "")):
                raise InputError(source, f"model card int8: {name} {data.get(name)!r} is not a sha256 (64 hexadecimal digits)")
        for name in ("calibration", "method"):
            if not isinstance(data.get(name, {}), dict):
                raise InputError(source, f"model card int8: {name} must be an object")
        nodes = data.get("float32_nodes", [])
        if not isinstance(nodes, list) or not all(isinstance(n, str) for n in nodes):
            raise InputError(source, f"model card int8: float32_nodes {nodes!r} must be a list of node names")
        return cls(data["file"], data["sha256"], data.get("weights_sha256", ""), dict(data.get("calibration", {})),
                   tuple(nodes), data.get("onnxruntime", ""), dict(data.get("method", {})))


@dataclass
class ModelCard:
    name: str
    version: str
    task: str
    inputs: list[str]
    architecture: Architecture
    classes: list[LesionClass] = field(default_factory=list)
    normalisation: dict = field(default_factory=lambda: dict(NORMALISATION))
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    # defaults of predict chosen on validation data, e.g. {"min_lesion_probability": {"cmb": 0.7}}
    postprocessing: dict = field(default_factory=dict)
    description: str = ""
    intended_use: str = "Research only. Not a medical device; not validated for clinical use."
    weights_sha256: str = ""
    created: str = ""
    deepmir_version: str = __version__
    format: str = CARD_FORMAT
    format_version: int = CARD_FORMAT_VERSION
    # optional: the second stage's classifiers, most cards one; with several each names the
    # classes it `decides`, and where two claim a voxel the first listed wins, so a later one
    # deciding a class an earlier one decides too adds its lesions where the earlier put none
    # (pipeline.combine_stages). A card without any reads and writes as before
    second_stages: tuple[SecondStageSpec, ...] = ()
    int8: Int8Spec | None = None  # optional, like second_stages

    @property
    def second_stage(self) -> SecondStageSpec | None:
        """The first (on most cards the only) second-stage classifier; None without one."""
        return self.second_stages[0] if self.second_stages else None

    @second_stage.setter
    def second_stage(self, spec: SecondStageSpec | None) -> None:
        """Make `spec` the card's one second-stage classifier (None: the card has none)."""
        self.second_stages = () if spec is None else (spec,)

    def second_stage_decides(self) -> tuple[str, ...]:
        """The lesion class keys some second-stage classifier decides (none without a second stage)."""
        return tuple(key for spec in self.second_stages for key in spec.decided_keys())

    @classmethod
    def for_network(cls, network: UNet2D, name: str, version: str, task: str, inputs: list[str], **extra: object) -> ModelCard:
        """A card describing `network` for `task` on `inputs` (classes filled from the task)."""
        return cls(name=name, version=version, task=task, inputs=list(inputs), architecture=Architecture.of(network),
                   classes=list(classes_for_task(task)), **extra)

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("second_stages")
        data.pop("int8")
        if len(self.second_stages) == 1:
            data["second_stage"] = self.second_stages[0].to_dict()
        elif self.second_stages:
            data["second_stage"] = [spec.to_dict() for spec in self.second_stages]
        if self.int8 is not None:
            data["int8"] = self.int8.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict, source: object = None) -> ModelCard:
        """A card from its JSON, checked field by field before anything is built from it."""
        if not isinstance(data, dict):
            raise InputError(source, f"is not a DeepMIR model card (a JSON object is required, not a {type(data).__name__})")
        if data.get("format") != CARD_FORMAT:
            raise InputError(source, f"is not a DeepMIR model card (format {data.get('format')!r})")
        format_version = data.get("format_version", 0)
        if not isinstance(format_version, int) or format_version > CARD_FORMAT_VERSION:
            raise InputError(source, f"model card format {format_version!r} is newer than this DeepMIR understands ({CARD_FORMAT_VERSION})")
        missing = [name for name in REQUIRED_CARD_FIELDS if name not in data]
        if missing:
            raise InputError(source, f"model card is incomplete: no {', '.join(missing)}")
        for name, kind in CARD_FIELD_TYPES.items():
            if name in data and (not isinstance(data[name], kind) or isinstance(data[name], bool) and kind is not bool):
                expected = " or ".join(k.__name__ for k in kind) if isinstance(kind, tuple) else kind.__name__
                raise InputError(source, f"model card field {name!r} is {type(data[name]).__name__}, not {expected}")
        fields = {k: v for k, v in data.items() if k in CARD_FIELD_TYPES}
        fields["architecture"] = Architecture.from_dict(fields["architecture"], source)
        fields["classes"] = [_lesion_class(c, source) for c in fields["classes"]]
        if "second_stage" in fields:
            fields["second_stages"] = _second_stage_specs(fields.pop("second_stage"), source, len(fields["inputs"]))
        if "int8" in fields:
            fields["int8"] = Int8Spec.from_dict(fields["int8"], source)
        card = cls(**fields)
        card.validate(source)
        return card

    def validate(self, source: object = None) -> None:
        if self.task not in TASK_CLASSES:
            raise InputError(source, f"unknown task {self.task!r}")
        if not all(isinstance(m, str) for m in self.inputs):
            raise InputError(source, f"inputs {self.inputs} must be modality names")
        unknown = [m for m in self.inputs if m not in MODALITIES]
        if not self.inputs or self.inputs[0] != "swi" or unknown or len(set(self.inputs)) != len(self.inputs):
            raise InputError(source, f"inputs {self.inputs} must start with 'swi' and name each of {MODALITIES} at most once")
        if self.architecture.in_channels != len(self.inputs):
            raise InputError(source, f"architecture has {self.architecture.in_channels} input channels but the card lists {len(self.inputs)} inputs")
        expected = len(classes_for_task(self.task))
        if self.architecture.num_classes != expected or len(self.classes) != expected:
            raise InputError(source, f"task {self.task!r} needs {expected} classes; the card describes {self.architecture.num_classes}")
        task_classes = [(c.label, c.key) for c in classes_for_task(self.task)]
        if [(c.label, c.key) for c in self.classes] != task_classes:
            raise InputError(source, f"classes {[(c.label, c.key) for c in self.classes]} are not the (label, key) pairs of task "
                                     f"{self.task!r}: {task_classes}")
        if self.weights_sha256 and not re.fullmatch(r"[0-9a-f]{64}", self.weights_sha256):
            raise InputError(source, f"weights_sha256 {self.weights_sha256!r} is not a sha256 (64 hexadecimal digits)")
        minimum = self.postprocessing.get("min_lesion_probability", {})
        if not isinstance(minimum, dict) or set(minimum) - {c.key for c in self.classes}:
            raise InputError(source, f"postprocessing min_lesion_probability {minimum!r} must map class keys to probabilities")
        for key, value in minimum.items():
            options.probability(value, f"{source}: postprocessing min_lesion_probability {key}")
        if any(spec.extrema for spec in self.second_stages) and not {"swi", "qsm"} <= set(self.inputs):
            raise InputError(source, f"second_stage extrema needs SWI and QSM among the inputs; the card lists {self.inputs}")
        if len(self.second_stages) > 1 and any(spec.decides is None for spec in self.second_stages):
            raise InputError(source, f"model card second_stage lists {len(self.second_stages)} classifiers; each must give `decides`")
        for index, spec in enumerate(self.second_stages):
            if spec.second_opinion and spec.second_opinion["from"] not in set(range(len(self.second_stages))) - {index}:
                raise InputError(source, f"model card second_stage {index}: second_opinion from {spec.second_opinion['from']} is not "
                                         f"another of the card's {len(self.second_stages)} classifiers (numbered from 0)")
            if spec.second_opinion and self.second_stages[spec.second_opinion["from"]].echo_times is not None:
                raise InputError(source, f"model card second_stage {index}: second_opinion from classifier {spec.second_opinion['from']}, "
                                         "which does not run at every echo time (echo_times)")
        self._check_echo_time_pairs(source)

    def _check_echo_time_pairs(self, source) -> None:
        """A class decided by a classifier that runs only for some echo times (echo_times) is
        decided by exactly two: one below T ms (or an unknown echo time) and one from T ms, so
        that every SWI has one classifier for it."""
        for key in {key for spec in self.second_stages if spec.echo_times for key in spec.decided_keys()}:
            ranges = [spec.echo_times for spec in self.second_stages if key in spec.decided_keys()]
            below = [r["below_ms"] for r in ranges if r and "below_ms" in r]
            start = [r["from_ms"] for r in ranges if r and "from_ms" in r]
            if len(ranges) != 2 or len(below) != 1 or below != start:
                raise InputError(source, f"model card second_stage: class {key!r} is decided by classifiers for echo times {ranges} "
                                         "(null: every one); give exactly two, one with echo_times {\"below_ms\": T} and one with "
                                         "{\"from_ms\": T}")

    def summary(self) -> ModelSummary:
        """What a result and the datastore record about this model."""
        return ModelSummary(self.name, self.version, self.weights_sha256, self.task, tuple(self.inputs))

    @property
    def lesion_classes(self) -> tuple[LesionClass, ...]:
        return tuple(self.classes)

    def build_network(self) -> UNet2D:
        return self.architecture.build_network()

    def check_inputs(self, available: Iterable[str], source: object = None) -> None:
        """Raise InputError when a modality the model needs was not given."""
        missing = [m for m in self.inputs if m not in available]
        if missing:
            raise InputError(
                source or self.name,
                f"model '{self.name}' needs {', '.join(m.upper() for m in self.inputs)}, but no {', '.join(m.upper() for m in missing)} was given",
            )


def _lesion_class(data, source) -> LesionClass:
    if (not isinstance(data, dict) or set(data) != {"label", "name", "key", "color"} or isinstance(data["label"], bool)
            or not isinstance(data["label"], int) or not all(isinstance(data[k], str) for k in ("name", "key", "color"))):
        raise InputError(source, f"model card class {data!r} is not a {{label (number), name, key, color}} object")
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", data["color"]):
        raise InputError(source, f"model card class colour {data['color']!r} is not #rrggbb")
    return LesionClass(**data)


def _second_stage_specs(data: object, source: object, n_inputs: int) -> tuple[SecondStageSpec, ...]:
    """The card's `second_stage`: one section, or a non-empty list of them (each checked)."""
    sections = data if isinstance(data, list) else [data]
    if not sections or len(sections) > MAX_SECOND_STAGES:
        raise InputError(source, f"model card second_stage lists {len(sections)} classifiers; give 1 to {MAX_SECOND_STAGES}")
    return tuple(SecondStageSpec.from_dict(section, source, n_inputs) for section in sections)


@dataclass(frozen=True)
class _WeightsFile:
    """A weights file that load_model checked (its sha256, tensor names, shapes and values)."""

    path: Path
    sha256: str
    what: str  # "weights", "second-stage weights" or "int8 file", in messages

    def read(self) -> bytes:
        """The file's bytes, refused when they are no longer those load_model checked (so what
        is built, and exported to ONNX under the file's sha256, is what was verified)."""
        return _read_verified(self.path, self.sha256, f"{self.what} changed on disk since the model was loaded "
                                                      f"(they no longer match the sha256 recorded in the model card)")


def _read_verified(path: Path, sha256: str, mismatch: str) -> bytes:
    """The bytes of `path`; InputError(`mismatch`) unless their sha256 is `sha256`."""
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise InputError(path, mismatch)
    return data


class LoadedModel:
    """A model: its card, the path of its card, its U-Net (`network`) and the card's second
    stage (`second_stage`, None without one; `second_stage_network(i)` for the i-th of a card
    that lists several classifiers).

    load_model needs no torch: the PyTorch networks are built from the weights files it
    checked the first time they are asked for (each file's sha256 checked again then), in
    eval mode. A LoadedModel made from networks in memory (tests, training) holds them as given.
    `weights_key` and `second_stage_weights_key` name the networks' weights for the ONNX
    export cache (onnxrt.onnx_path, onnxrt.second_stage_onnx_path)."""

    def __init__(self, network: UNet2D | None, card: ModelCard, path: Path | str,
                 second_stage: CandidateNet | list[CandidateNet] | None = None):
        self.card = card
        self.path = Path(path)
        self._network = network
        # one entry per classifier of the card: the network in memory, or None until built
        self._second_stages: list[CandidateNet | None] = list(second_stage) if isinstance(second_stage, list) else (
            [] if second_stage is None else [second_stage])
        self._weights: _WeightsFile | None = None  # what `network` is built from (load_model)
        self._second_weights: list[_WeightsFile] = []  # what the second stages are built from
        self._built_digest: str | None = None  # state_digest of the network as built from self._weights
        self._second_built_digests: list[str | None] = [None] * len(self._second_stages)  # the same per second stage
        self._int8: _WeightsFile | None = None  # the card's int8 file (load_model checked it)

    @classmethod
    def _from_files(cls, card: ModelCard, card_path: Path, weights: _WeightsFile, second_weights: list[_WeightsFile],
                    int8: _WeightsFile | None = None) -> LoadedModel:
        model = cls(None, card, card_path)
        model._weights, model._second_weights, model._int8 = weights, list(second_weights), int8
        model._second_stages = [None] * len(second_weights)
        model._second_built_digests = [None] * len(second_weights)
        return model

    @property
    def int8_file(self) -> Path | None:
        """The card's int8 ONNX file (checked by load_model), or None when it has none."""
        return None if self._int8 is None else self._int8.path

    def int8_bytes(self) -> bytes:
        """The bytes of the card's int8 ONNX file, checked again against its sha256 (what
        ONNX Runtime runs is what was verified); ValueError when the model has none."""
        if self._int8 is None:
            raise ValueError("this model has no int8 file")
        return self._int8.read()

    @property
    def network(self) -> UNet2D:
        """The U-Net (PyTorch), built from the checked weights file on first use."""
        if self._network is None:
            if self._weights is None:
                raise ValueError("this LoadedModel holds no network and no weights file")
            self._network = _network_from(self.card.build_network(), self._weights)
            self._built_digest = state_digest(self._network)
        return self._network

    @network.setter
    def network(self, network: UNet2D) -> None:
        self._network = network
        self._built_digest = None  # no longer the weights file's network

    @property
    def network_built(self) -> bool:
        """Whether the PyTorch U-Net exists (was given, or asked for since loading)."""
        return self._network is not None

    @property
    def second_stage(self) -> CandidateNet | None:
        """The card's (first) second-stage classifier (PyTorch), built from its checked weights
        file on first use; None when the model has none."""
        return self.second_stage_network(0) if self.has_second_stage else None

    @second_stage.setter
    def second_stage(self, network: CandidateNet | None) -> None:
        """Make `network` the model's one second-stage classifier (None: none)."""
        self._second_stages = [] if network is None else [network]
        self._second_weights = []
        self._second_built_digests = [None] * len(self._second_stages)

    def second_stage_network(self, index: int) -> CandidateNet:
        """The card's `index`-th second-stage classifier (PyTorch), built on first use."""
        if self._second_stages[index] is None:
            network = _network_from(self.card.second_stages[index].build_network(), self._second_weights[index])
            self._second_stages[index] = network
            self._second_built_digests[index] = state_digest(network)
        return self._second_stages[index]

    @property
    def second_stage_networks(self) -> list[CandidateNet]:
        """Every second-stage classifier of the card, in its order (built on first use)."""
        return [self.second_stage_network(index) for index in range(len(self._second_stages))]

    @property
    def has_second_stage(self) -> bool:
        """Whether the model has a second stage, answered without building it (nor importing torch)."""
        return bool(self._second_stages)

    def weights_key(self) -> str:
        """What names the U-Net's weights: "file:<sha256>", the sha256 of the weights file
        load_model checked, while the network is that file's (not built yet, or built and
        unchanged since: its tensors are hashed to see); else "memory:<sha256 of the tensors
        in memory>" (a network given in memory, replaced, or changed after loading), so that a
        changed network never meets an ONNX export made from other weights."""
        return _weights_key(self._weights, self._network, self._built_digest, lambda: self.network)

    def second_stage_weights_key(self, index: int = 0) -> str:
        """What names the `index`-th second-stage classifier's weights, as `weights_key` does the
        U-Net's: the sha256 of its checked .second.safetensors file, or of its tensors in memory."""
        if not self.has_second_stage:
            raise ValueError("this model has no second stage")
        weights = self._second_weights[index] if self._second_weights else None
        return _weights_key(weights, self._second_stages[index], self._second_built_digests[index],
                            lambda: self.second_stage_network(index))


def _weights_key(weights: _WeightsFile | None, network: UNet2D | CandidateNet | None, built_digest: str | None,
                 build: Callable[[], UNet2D | CandidateNet]) -> str:
    """LoadedModel.weights_key for one network: `weights`' sha256 while `network` is unbuilt or
    unchanged since it was built from them (its state_digest still `built_digest`), else the
    digest of the network in memory (`build()` gives it)."""
    if weights is not None and (network is None or state_digest(network) == built_digest):
        return f"file:{weights.sha256}"
    return f"memory:{state_digest(build())}"


def state_digest(network: UNet2D | CandidateNet) -> str:
    """sha256 of a network's state_dict as it is in memory (names and float bytes, on the CPU)."""
    digest = hashlib.sha256()
    for name, tensor in network.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _network_from(network: UNet2D | CandidateNet, weights: _WeightsFile) -> UNet2D | CandidateNet:
    """`network` with the tensors of `weights` (read and checked again), in eval mode."""
    from safetensors.torch import load

    network.load_state_dict(load(weights.read()), strict=True)
    return network.eval()


def second_stage_path(card_path: Path | str, index: int = 0) -> Path:
    """Where a model's second-stage weights lie: `<name>.second.safetensors` beside its card
    (`<name>.second2.safetensors` for the second classifier of a card that lists more, and so on)."""
    card_path, _ = model_paths(card_path)
    return card_path.with_suffix(f".second{index + 1 if index else ''}.safetensors")


def model_paths(path: Path | str) -> tuple[Path, Path]:
    """(card, weights) for a model given as its .json, its .safetensors or the common stem."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".json", ".safetensors") else path
    return stem.with_suffix(".json"), stem.with_suffix(".safetensors")


def sha256_of(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def int8_path(card_path: Path | str) -> Path:
    """Where a model's int8 ONNX file lies: `<name>.int8.onnx` beside its card."""
    card_path, _ = model_paths(card_path)
    return card_path.with_suffix(INT8_SUFFIX)


def save_model(network: UNet2D, card: ModelCard, path: Path | str, second_stage: CandidateNet | list[CandidateNet] | None = None,
               int8: Path | str | None = None) -> Path:
    """Write weights and card; returns the card's path. The card gets the weights' sha256.
    With `second_stage` (the card must then have a second_stage section; a list of networks
    for a card that lists several classifiers, in its order) each network's weights are
    written to `second_stage_path` and their file name and sha256 recorded in its section.
    With `int8` (an int8 ONNX file of this network, DeepMIRLib.quantize; the card must then
    have an int8 section) the file is copied to `int8_path` and its name, its sha256 and the
    weights' sha256 recorded in the section; a card with an int8 section saved without the
    file loses the section (the file cannot come along), so it reads as a card without one."""
    import shutil

    from safetensors.torch import save_file

    card.validate()
    card_path, weights_path = model_paths(path)
    second_stages = second_stage if isinstance(second_stage, list) else [] if second_stage is None else [second_stage]
    if len(second_stages) != len(card.second_stages):
        raise ValueError(f"give one second-stage network per classifier of the card's second_stage ({len(card.second_stages)}), "
                         f"not {len(second_stages)}")
    specs = []
    for index, (spec, second_network) in enumerate(zip(card.second_stages, second_stages)):
        second_path = second_stage_path(card_path, index)
        second_state = {k: v.detach().cpu().contiguous() for k, v in second_network.state_dict().items()}
        atomic_write(second_path, lambda p, state=second_state: save_file(state, p, metadata=_weights_metadata(card, stage="2")))
        specs.append(dataclasses.replace(spec, weights_file=second_path.name, weights_sha256=sha256_of(second_path)))
    card.second_stages = tuple(specs)
    if int8 is not None and card.int8 is None:
        raise ValueError("give the int8 file only when the card has an int8 section")
    state = {k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
    atomic_write(weights_path, lambda p: save_file(state, p, metadata=_weights_metadata(card, stage="1")))
    card.weights_sha256 = sha256_of(weights_path)
    if int8 is None:
        card.int8 = None
    else:
        target = int8_path(card_path)
        if Path(int8).resolve() != target.resolve():
            atomic_write(target, lambda p: shutil.copyfile(int8, p), suffix=".onnx")
        card.int8 = dataclasses.replace(card.int8, file=target.name, sha256=sha256_of(target), weights_sha256=card.weights_sha256)
    return write_card(card, card_path)


def _weights_metadata(card: ModelCard, **fields: str) -> dict[str, str]:
    """A weights file's safetensors metadata: one key, its value a JSON object with sorted keys,
    and nothing a calibration changes (the version is the card's business). safetensors writes
    the metadata's keys in another order on every save, so with several keys the same tensors
    gave other bytes (another sha256) each time a model was saved; now a model saved again over
    itself rewrites its weights with the same bytes, and only its card changes."""
    return {CARD_FORMAT: json.dumps({"name": card.name, **fields}, sort_keys=True)}


def write_card(card: ModelCard, card_path: Path) -> Path:
    """Write `card` as JSON at `card_path` (atomically), stamped with the time unless it has
    one; the files it names must be in place first (a card is written last)."""
    card.created = card.created or datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    write_text_atomic(card_path, json.dumps(card.to_dict(), indent=2) + "\n")
    return card_path


def read_card(path: Path | str) -> ModelCard:
    card_path, _ = model_paths(path)
    if not card_path.is_file():
        raise InputError(card_path, "model card not found (a model is a .json card beside its .safetensors weights)")
    if card_path.stat().st_size > MAX_CARD_BYTES:
        raise InputError(card_path, f"is {card_path.stat().st_size / 2**20:.0f} MB; a model card is a small JSON file (at most {MAX_CARD_BYTES // 2**20} MB)")
    try:
        data = json.loads(card_path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InputError(card_path, f"model card is not valid JSON ({type(err).__name__}: {err})") from None
    return ModelCard.from_dict(data, source=card_path)


def load_model(path: Path | str) -> LoadedModel:
    """Load a model, checking card and weights agree (and the second stage's, when the card
    has one), without torch: the networks are built when first used (LoadedModel), in eval mode."""
    path = resolve_model(path)
    card_path, weights_path = model_paths(path)
    card = read_card(card_path)
    if not weights_path.is_file():
        raise InputError(weights_path, "model weights not found")
    if not card.weights_sha256:
        raise InputError(card_path, "model card records no weights_sha256, so its weights cannot be verified; DeepMIR loads "
                                    "only weights it can check (modelfile.save_model records the checksum)")
    data = _read_verified(weights_path, card.weights_sha256, "weights do not match the sha256 recorded in the model card (corrupt or replaced file)")
    _check_tensors(data, card.architecture.tensor_shapes(), weights_path, "weights", "the architecture in the card")
    weights = _WeightsFile(weights_path, card.weights_sha256, "weights")
    second_weights = [_second_stage_weights(spec, card_path) for spec in card.second_stages]
    return LoadedModel._from_files(card, card_path, weights, second_weights, _int8_file(card, card_path))


def _int8_file(card: ModelCard, card_path: Path) -> _WeightsFile | None:
    """The card's int8 ONNX file, checked against its sha256 and made from the card's own
    weights; None without an int8 section."""
    spec = card.int8
    if spec is None:
        return None
    path = card_path.parent / spec.file
    if not path.is_file():
        raise InputError(path, "int8 file not found (the model card's int8 section names it)")
    _read_verified(path, spec.sha256, "int8 file does not match the sha256 recorded in the model card (corrupt or replaced file)")
    if spec.weights_sha256 and spec.weights_sha256 != card.weights_sha256:
        raise InputError(card_path, f"the int8 file {spec.file} was quantized from other weights (sha256 {spec.weights_sha256[:12]}...) "
                                    f"than the card's ({card.weights_sha256[:12]}...); quantize the model again (deepmir quantize)")
    return _WeightsFile(path, spec.sha256, "int8 file")


def _second_stage_weights(spec: SecondStageSpec, card_path: Path) -> _WeightsFile:
    """A second-stage classifier's weights file (`spec` is its card section), checked like the U-Net's."""
    if not spec.weights_file or Path(spec.weights_file).name != spec.weights_file or not spec.weights_sha256:
        raise InputError(card_path, "model card second_stage must name its weights file (beside the card) and their weights_sha256")
    path = card_path.parent / spec.weights_file
    if not path.is_file():
        raise InputError(path, "second-stage weights not found")
    data = _read_verified(path, spec.weights_sha256, "second-stage weights do not match the sha256 recorded in the model card (corrupt or replaced file)")
    _check_tensors(data, spec.tensor_shapes(), path, "second-stage weights", "the card's second_stage")
    return _WeightsFile(path, spec.weights_sha256, "second-stage weights")


# safetensors' floating-point types: those numpy reads, and the 8-bit ones torch reads (bfloat16
# is checked by its bits)
NUMPY_FLOATS = {"F64": "<f8", "F32": "<f4", "F16": "<f2"}
TORCH_FLOATS = {"F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2"}


def _check_tensors(data: bytes, expected: dict, source: Path, what: str, network: str) -> None:
    """The tensors of safetensors `data` against `expected` (name -> (shape, floating point),
    Architecture.tensor_shapes): the same names and shapes, floating point where the network's
    are, and finite, read without torch (except for rare 8-bit float types)."""
    from safetensors import deserialize

    try:
        tensors = dict(deserialize(data))
    except Exception as err:  # noqa: BLE001 - safetensors raises its own error types
        raise InputError(source, f"cannot be read as safetensors ({err})") from None
    _check_shapes(expected, {name: tuple(tensor["shape"]) for name, tensor in tensors.items()}, source, what, network)
    for name, tensor in tensors.items():
        floating = tensor["dtype"].startswith(("F", "BF"))
        if floating != expected[name][1] or (floating and not _finite(tensor["dtype"], tensor["data"])):
            raise InputError(source, f"{what.removesuffix('s')} {name} holds NaN or infinite values, or is not of the network's type ({tensor['dtype']})")


def _finite(dtype: str, data: bytes) -> bool:
    """Whether a floating-point tensor's little-endian bytes hold finite values only (False
    for a floating-point type DeepMIR does not read)."""
    if dtype in NUMPY_FLOATS:
        return bool(np.isfinite(np.frombuffer(data, NUMPY_FLOATS[dtype])).all())
    if dtype == "BF16":  # NaN and infinity have every exponent bit set
        return not ((np.frombuffer(data, "<u2") & 0x7F80) == 0x7F80).any()
    if dtype not in TORCH_FLOATS:
        return False
    import torch

    return bool(torch.isfinite(torch.frombuffer(bytearray(data), dtype=getattr(torch, TORCH_FLOATS[dtype])).float()).all())


def _check_shapes(expected: dict, found: dict, source: object, what: str = "weights", network: str = "the architecture in the card") -> None:
    """Tensor names and shapes of the weights against those of the card's network."""
    expected = {k: shape for k, (shape, _) in expected.items()}
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if missing or extra:
        raise InputError(source, f"{what} do not fit {network}: missing {missing[:3]}, unexpected {extra[:3]}")
    wrong = [k for k in expected if expected[k] != found[k]]
    if wrong:
        k = wrong[0]
        raise InputError(source, f"{what} do not fit {network}: {k} has shape {found[k]}, the card's network needs {expected[k]}")


# --- registry ---------------------------------------------------------------------------

def registry_entry(card_path: Path | str, model_id: str, default: bool = False, trained_on: str | None = None) -> dict:
    """The registry entry of a model, everything but its id, default flag and `trained_on`
    (by default the card's training data; a curated summary of a model with several
    training steps may be given) taken from its card and files, so that it cannot go stale."""
    card_path, weights_path = model_paths(card_path)
    card = load_model(card_path).card
    entry = {
        "id": model_id,
        "version": card.version,
        "file": card_path.name,
        "sha256": sha256_of(weights_path),
        "inputs": list(card.inputs),
        "task": card.task,
        "classes": [c.name for c in card.classes],
        "trained_on": card.training.get("data", "") if trained_on is None else trained_on,
        "default": default,
    }
    if card.training.get("calibration"):
        entry["calibrated_on"] = calibration_summary(card)
    if card.int8 is not None:
        # onnxrt.INT8; not imported, so that Slicer's Python, which imports this module, does not import onnxrt
        entry["int8"] = {"file": card.int8.file, "sha256": card.int8.sha256, "runtime": "onnxruntime-int8",
                         "quantized_on": card.int8.calibration.get("data", "")}
    return entry


def calibration_summary(card: ModelCard) -> str:
    """Where the card's minimum probabilities were chosen, and what they are: the U-Net's
    (postprocessing) and each second-stage classifier's for the classes it decides, with the
    participants it was chosen on where they are not the U-Net's."""
    minimum = card.postprocessing.get("min_lesion_probability", {})
    unet_data = card.training["calibration"].get("data", "")
    text = f"{unet_data}: minimum lesion probability " + ", ".join(f"{key} {value}" for key, value in minimum.items())
    if card.second_stages:
        text += " (the U-Net alone, --stages 1); second stage: " + ", ".join(
            f"{'/'.join(spec.decided_keys())} classifier " + ", ".join(f"{key} {spec.min_probability[key]}" for key in spec.decided_keys())
            + (f" (for SWI echo times from {spec.long_echo['from_ms']:g} ms: {spec.long_echo_minimum_text()})" if spec.long_echo else "")
            + (f" ({spec.echo_times_text()})" if spec.echo_times else "")
            + _own_calibration_text(spec.calibration.get("data", ""), unet_data)
            for spec in card.second_stages)
    return text


def _own_calibration_text(data: str, unet_data: str) -> str:
    """', chosen on ...' (the calibration record's data up to its list of participants) for a
    classifier calibrated on other participants than the U-Net; '' otherwise."""
    head = data.split(": ")[0]
    return "" if not data or head == unet_data.split(": ")[0] else f", chosen on {head}"


def register_model(card_path: Path | str, model_id: str, default: bool = False, registry_path: Path | str = REGISTRY_PATH,
                   trained_on: str | None = None) -> dict:
    """Add a registry entry (`registry_entry`) for a model whose files lie in the registry's
    folder, replacing the entry of the same id and version and any entry of the same file (a new
    version saved over an older one's files: the older entry's checksum could never match again)."""
    registry_path = Path(registry_path)
    if model_paths(card_path)[0].parent.resolve() != registry_path.parent.resolve():
        raise InputError(card_path, f"copy the model into {registry_path.parent} before registering it")
    entry = registry_entry(card_path, model_id, default, trained_on)
    registry = json.loads(registry_path.read_text(encoding="utf-8")) if registry_path.exists() else {"models": []}
    models = [m for m in registry["models"]
              if not (m["id"] == model_id and m["version"] == entry["version"]) and m["file"] != entry["file"]]
    if default:
        for m in models:
            m["default"] = False
    registry["models"] = models + [entry]
    write_text_atomic(registry_path, json.dumps(registry, indent=2) + "\n")
    return entry


def resolve_model(name_or_path: Path | str, registry_path: Path | str = REGISTRY_PATH) -> Path:
    """A model file path, or a registry id ('id' or 'id@version'), or 'default'."""
    candidate = Path(str(name_or_path))
    if candidate.suffix in (".json", ".safetensors") or candidate.exists() or model_paths(candidate)[0].exists():
        return candidate
    entries = read_registry(registry_path)
    wanted, _, version = str(name_or_path).partition("@")
    for entry in entries:
        if (wanted == "default" and entry.get("default")) or (entry["id"] == wanted and version in ("", entry["version"])):
            path = Path(registry_path).parent / entry["file"]
            if sha256_of(model_paths(path)[1]) != entry["sha256"]:
                raise InputError(path, f"weights do not match the registry's sha256 for {entry['id']}@{entry['version']}")
            return path
    known = ", ".join(f"{e['id']}@{e['version']}" for e in entries) or "none yet"
    raise InputError(name_or_path, f"no such model file or registry entry (registered models: {known})")
