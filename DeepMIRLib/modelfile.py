"""Model files: safetensors weights plus a JSON model card, and the model registry.

A model is two files side by side: `<name>.safetensors` (the weights, never pickled) and
`<name>.json` (the card: architecture and width, input modalities in order, task, classes
with names and colours, normalisation, training provenance, metrics, version, and the
sha256 of the weights). Loading checks the checksum, rebuilds the network from the card
and requires the weights to match it tensor by tensor.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from . import __version__
from .atomic import atomic_write, write_text_atomic
from .classes import MODALITIES, TASK_CLASSES, LesionClass, classes_for_task
from .errors import InputError
from .preprocessing import NORMALISATION
from .registry import REGISTRY_PATH, read_registry
from .results import ModelSummary
from .unet import UNet2D

CARD_FORMAT = "deepmir-model-card"
CARD_FORMAT_VERSION = 1


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
    def of(cls, network: UNet2D) -> "Architecture":
        return cls("unet2d", network.levels, network.base_width, network.in_channels, network.num_classes,
                   "sigmoid" if network.num_classes == 1 else "softmax", network.head_relu, network.size_multiple)

    @classmethod
    def from_dict(cls, data: dict, source=None) -> "Architecture":
        if not isinstance(data, dict) or data.get("name") != "unet2d":
            raise InputError(source, f"unknown architecture {data.get('name') if isinstance(data, dict) else data!r}")
        try:
            return cls(**data)
        except TypeError as err:
            raise InputError(source, f"model card architecture is incomplete or unknown: {err}") from None

    def build_network(self) -> UNet2D:
        return UNet2D(self.in_channels, self.num_classes, self.base_width, self.levels, self.head_relu)


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

    @classmethod
    def for_network(cls, network: UNet2D, name: str, version: str, task: str, inputs: list[str], **extra) -> "ModelCard":
        """A card describing `network` for `task` on `inputs` (classes filled from the task)."""
        return cls(name=name, version=version, task=task, inputs=list(inputs), architecture=Architecture.of(network),
                   classes=list(classes_for_task(task)), **extra)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, source=None) -> "ModelCard":
        if data.get("format") != CARD_FORMAT:
            raise InputError(source, f"is not a DeepMIR model card (format {data.get('format')!r})")
        if data.get("format_version", 0) > CARD_FORMAT_VERSION:
            raise InputError(source, f"model card format {data['format_version']} is newer than this DeepMIR understands ({CARD_FORMAT_VERSION})")
        known = {f for f in cls.__dataclass_fields__}
        fields = {k: v for k, v in data.items() if k in known}
        if "architecture" in fields:
            fields["architecture"] = Architecture.from_dict(fields["architecture"], source)
        try:
            fields["classes"] = [LesionClass(**c) for c in fields.get("classes", [])]
            card = cls(**fields)
        except TypeError as err:
            raise InputError(source, f"model card is incomplete: {err}") from None
        card.validate(source)
        return card

    def validate(self, source=None) -> None:
        if self.task not in TASK_CLASSES:
            raise InputError(source, f"unknown task {self.task!r}")
        unknown = [m for m in self.inputs if m not in MODALITIES]
        if not self.inputs or self.inputs[0] != "swi" or unknown or len(set(self.inputs)) != len(self.inputs):
            raise InputError(source, f"inputs {self.inputs} must start with 'swi' and name each of {MODALITIES} at most once")
        if self.architecture.in_channels != len(self.inputs):
            raise InputError(source, f"architecture has {self.architecture.in_channels} input channels but the card lists {len(self.inputs)} inputs")
        expected = len(classes_for_task(self.task))
        if self.architecture.num_classes != expected or len(self.classes) != expected:
            raise InputError(source, f"task {self.task!r} needs {expected} classes; the card describes {self.architecture.num_classes}")

    def summary(self) -> ModelSummary:
        """What a result and the datastore record about this model."""
        return ModelSummary(self.name, self.version, self.weights_sha256, self.task, tuple(self.inputs))

    @property
    def lesion_classes(self) -> tuple[LesionClass, ...]:
        return tuple(self.classes)

    def build_network(self) -> UNet2D:
        return self.architecture.build_network()

    def check_inputs(self, available, source=None) -> None:
        """Raise InputError when a modality the model needs was not given."""
        missing = [m for m in self.inputs if m not in available]
        if missing:
            raise InputError(
                source or self.name,
                f"model '{self.name}' needs {', '.join(m.upper() for m in self.inputs)}, but no {', '.join(m.upper() for m in missing)} was given",
            )


@dataclass
class LoadedModel:
    network: UNet2D
    card: ModelCard
    path: Path


def model_paths(path) -> tuple[Path, Path]:
    """(card, weights) for a model given as its .json, its .safetensors or the common stem."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".json", ".safetensors") else path
    return stem.with_suffix(".json"), stem.with_suffix(".safetensors")


def sha256_of(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_model(network: UNet2D, card: ModelCard, path) -> Path:
    """Write weights and card; returns the card's path. The card gets the weights' sha256."""
    card.validate()
    card_path, weights_path = model_paths(path)
    state = {k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
    atomic_write(weights_path, lambda p: save_file(state, p, metadata={"format": CARD_FORMAT, "name": card.name, "version": card.version}))
    card.weights_sha256 = sha256_of(weights_path)
    card.created = card.created or datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    text = json.dumps(card.to_dict(), indent=2) + "\n"
    write_text_atomic(card_path, text)
    return card_path


def read_card(path) -> ModelCard:
    card_path, _ = model_paths(path)
    if not card_path.is_file():
        raise InputError(card_path, "model card not found (a model is a .json card beside its .safetensors weights)")
    try:
        data = json.loads(card_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(card_path, f"model card is not valid JSON ({err})") from None
    return ModelCard.from_dict(data, source=card_path)


def load_model(path) -> LoadedModel:
    """Load a model, checking card and weights agree. The network is returned in eval mode."""
    path = resolve_model(path)
    card_path, weights_path = model_paths(path)
    card = read_card(card_path)
    if not weights_path.is_file():
        raise InputError(weights_path, "model weights not found")
    if card.weights_sha256 and sha256_of(weights_path) != card.weights_sha256:
        raise InputError(weights_path, "weights do not match the sha256 recorded in the model card (corrupt or replaced file)")
    try:
        state = load_file(str(weights_path))
    except Exception as err:  # safetensors raises its own error types
        raise InputError(weights_path, f"cannot be read as safetensors ({err})") from None
    network = card.build_network()
    _check_state(network, state, weights_path)
    network.load_state_dict(state, strict=True)
    network.eval()
    return LoadedModel(network, card, card_path)


def _check_state(network: torch.nn.Module, state: dict, source) -> None:
    expected = {k: tuple(v.shape) for k, v in network.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if missing or extra:
        raise InputError(source, f"weights do not fit the architecture in the card: missing {missing[:3]}, unexpected {extra[:3]}")
    wrong = [k for k in expected if expected[k] != found[k]]
    if wrong:
        k = wrong[0]
        raise InputError(source, f"weights do not fit the architecture in the card: {k} has shape {found[k]}, the card's network needs {expected[k]}")


# --- registry ---------------------------------------------------------------------------

def register_model(card_path, model_id: str, default: bool = False, registry_path=REGISTRY_PATH) -> dict:
    """Add (or replace) a registry entry for a model whose files lie in the registry's folder."""
    card_path, weights_path = model_paths(card_path)
    registry_path = Path(registry_path)
    if card_path.parent.resolve() != registry_path.parent.resolve():
        raise InputError(card_path, f"copy the model into {registry_path.parent} before registering it")
    card = load_model(card_path).card
    entry = {
        "id": model_id,
        "version": card.version,
        "file": card_path.name,
        "sha256": sha256_of(weights_path),
        "inputs": card.inputs,
        "task": card.task,
        "classes": [c.name for c in card.classes],
        "trained_on": card.training.get("data", ""),
        "default": default,
    }
    registry = json.loads(registry_path.read_text()) if registry_path.exists() else {"models": []}
    models = [m for m in registry["models"] if not (m["id"] == model_id and m["version"] == card.version)]
    if default:
        for m in models:
            m["default"] = False
    registry["models"] = models + [entry]
    write_text_atomic(registry_path, json.dumps(registry, indent=2) + "\n")
    return entry


def resolve_model(name_or_path, registry_path=REGISTRY_PATH) -> Path:
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
