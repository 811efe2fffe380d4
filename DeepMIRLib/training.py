"""Training the U-Net (paper 2.4 and S3.2): data, augmentation, the epoch loop, model selection.

Training data: a folder of simulated participants (`deepmir simulate` layout:
<folder>/<participant>/{swi,qsm,t2,brainmask,labels}.*) or a DeepMIR datastore
(images/<case>/{swi,qsm,t2}.* with reader-approved labels/final/<case>.*).
Each epoch sees every slice that holds a lesion plus as many random lesion-free brain
slices, augmented on the fly (random crop/translation up to +-45 px, rotation by +-d,
d in [1, 60] degrees with edge padding, left-right flip; labels nearest-neighbour).
Participants are split 75/25 into training and validation; the epoch with the best
validation IoU is kept. Seeded: epoch e draws from the generator (seed, e), so a resumed
run continues exactly as an uninterrupted one would.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from scipy import ndimage

from . import options
from .atomic import atomic_write
from .casecache import CaseArrays, CaseCache, prepare_arrays
from .classes import BRAIN_MASK, MODALITIES, classes_for_task, reference_for_task
from .datastore import INDEX_NAME, Datastore
from .errors import InputError
from .evaluation import IoUAccumulator
from .modelfile import LoadedModel, ModelCard, save_model
from .pipeline import ParticipantInputs, participant_from_folder
from .preprocessing import NETWORK_MULTIPLE, round_up
from .simulation.objects import MIMIC_LABELS
from .unet import UNet2D
from .volumes import find_image

CHECKPOINT_FORMAT = "deepmir-checkpoint"  # the key of the checkpoint's record in its safetensors metadata


@dataclass
class TrainingCase:
    case_id: str
    inputs: ParticipantInputs
    labels: Path
    mimics: Path | None = None  # simulated participants: veins 1, calcifications 2, perivascular spaces 3


def find_training_cases(folder: Path | str) -> list[TrainingCase]:
    """Cases of a datastore (the newest reader-approved labels/final of each case, with the
    images saved with it; cases with drafts only are left out), of a folder in the datastore
    layout without an index (every labels/final/<case> file with images/<case>/), or of a
    folder of simulated participants."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "training data folder not found")
    cases = []
    if (folder / INDEX_NAME).is_file():
        store = Datastore(folder)
        for entry in store.approved():
            images = store.image_paths(entry.case, entry.version)
            inputs = ParticipantInputs(entry.case, images["swi"], images.get("qsm"), images.get("t2"), images.get(BRAIN_MASK),
                                       entry.swi_echo_time_ms)
            cases.append(TrainingCase(entry.case, inputs, store.final_labels_path(entry.case, entry.version)))
    elif (folder / "labels" / "final").is_dir():
        if not (folder / "images").is_dir():
            raise InputError(folder, "has labels/final/ but no images/ folder (the datastore layout needs both)")
        for image_folder in sorted((folder / "images").iterdir()):
            labels = find_image(folder / "labels" / "final", image_folder.name)
            if image_folder.is_dir() and labels is not None and labels.is_file():
                cases.append(TrainingCase(image_folder.name, participant_from_folder(image_folder), labels))
    else:
        cases = [case for sub in sorted(folder.iterdir()) if (case := participant_case(sub)) is not None]
    if not cases:
        raise InputError(folder, "holds no training case (participant folders with swi and labels, or a datastore with labels/final)")
    return cases


def participant_case(folder: Path) -> TrainingCase | None:
    """The training case of a participant folder (`deepmir simulate`'s layout: swi, labels and,
    when simulated, mimics beside the other images); None when it has no swi or labels."""
    labels = find_image(folder, "labels") if folder.is_dir() else None
    if labels is None or find_image(folder, "swi") is None:
        return None
    return TrainingCase(folder.name, participant_from_folder(folder), labels, find_image(folder, "mimics"))


@dataclass
class PreparedCase:
    case_id: str
    stack: np.ndarray  # (C, Z, Y, X) normalised, canonical
    labels: np.ndarray  # (Z, Y, X) class indices 0..K (0 background), canonical
    mask: np.ndarray  # (Z, Y, X) brain
    mimics: np.ndarray | None = None  # (Z, Y, X) mimic classes outside lesions, canonical

    @property
    def lesion_slices(self) -> np.ndarray:
        return np.flatnonzero(self.labels.any(axis=(1, 2)))

    @property
    def empty_slices(self) -> np.ndarray:
        return np.flatnonzero(~self.labels.any(axis=(1, 2)) & self.mask.any(axis=(1, 2)))

    def mimic_slices(self, kind: int) -> np.ndarray:
        """Lesion-free slices holding a mimic of this kind."""
        if self.mimics is None:
            return np.array([], int)
        return np.flatnonzero(~self.labels.any(axis=(1, 2)) & (self.mimics == kind).any(axis=(1, 2)))


def prepare_case(case: TrainingCase, inputs: list[str], task: str) -> PreparedCase:
    """Modalities on the SWI grid, normalised and stacked as the model will see them; labels
    reduced to the task and numbered 0..K in the order of the task's classes (no cache)."""
    return case_for_model(prepare_arrays(case, inputs), inputs, task)


def case_for_model(arrays: CaseArrays, inputs: Sequence[str], task: str) -> PreparedCase:
    """A prepared case as one model sees it: the channels of its inputs, labels reduced to its
    task and numbered 0..K in the order of the task's classes."""
    reduced = reference_for_task(arrays.labels, task)
    indexed = np.zeros_like(reduced)
    for index, lesion_class in enumerate(classes_for_task(task), start=1):
        indexed[reduced == lesion_class.label] = index
    return PreparedCase(arrays.case_id, arrays.channels(inputs), indexed, arrays.mask, arrays.mimics)


def split_cases(case_ids: list[str], seed: int, validation_fraction: float = 0.25) -> tuple[list[str], list[str]]:
    """Random split by participant (at least one validation case when there are two or more)."""
    order = list(np.random.default_rng([seed, 7]).permutation(sorted(case_ids)))
    n_validation = max(1, round(validation_fraction * len(order))) if len(order) > 1 else 0
    return sorted(order[n_validation:]), sorted(order[:n_validation])


class Sample(NamedTuple):
    case: int  # index into the case list
    z: int  # slice
    mimic: int = 0  # centre the crop on a mimic of this kind (a hard negative); 0: none


def epoch_samples(cases: list[PreparedCase], rng: np.random.Generator, copies: int = 1, mimic_fraction: float = 0.0) -> list[Sample]:
    """Every lesion slice `copies` times (each copy is augmented differently, as the paper
    made several augmented copies per slice) plus as many random lesion-free slices.

    With `mimic_fraction` > 0 that share of the lesion-free slices is drawn from slices
    holding a simulated mimic and cropped around it, the kinds (vein, calcification,
    perivascular space) in equal shares: random crops rarely show the network the few
    calcifications of a cohort, the mimic it most often mistook for a lesion."""
    lesion = [Sample(c, int(z)) for c, case in enumerate(cases) for z in case.lesion_slices] * copies
    n_free = max(len(lesion), 1)
    pools = [[Sample(c, int(z), kind) for c, case in enumerate(cases) for z in case.mimic_slices(kind)] for kind in MIMIC_LABELS.values()]
    pools = [pool for pool in pools if pool]
    n_mimic = round(mimic_fraction * n_free) if pools else 0
    mimic = [sample for k, pool in enumerate(pools) for sample in _draw(pool, n_mimic // len(pools) + (k < n_mimic % len(pools)), rng)]
    empty = [Sample(c, int(z)) for c, case in enumerate(cases) for z in case.empty_slices]
    samples = lesion + mimic + _draw(empty, n_free - n_mimic, rng)
    return [samples[i] for i in rng.permutation(len(samples))]


def _draw(pool: list[Sample], n: int, rng: np.random.Generator) -> list[Sample]:
    """n samples from pool, without replacement while the pool lasts."""
    if not pool or n <= 0:
        return []
    return [pool[i] for i in rng.choice(len(pool), size=n, replace=n > len(pool))]


def augment(image: np.ndarray, labels: np.ndarray, rng: np.random.Generator, crop: int | None, max_shift: int = 45, max_angle: int = 60, anchors: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One augmented (C, H, W) slice and its labels (H, W), paper S3.2.

    A crop is centred on a random lesion voxel, or on a lesion-free slice on a random voxel
    of `anchors` (the slice's brain mask, or a mimic), then shifted by up to max_shift:
    centring lesion-free crops on the slice centre would never show the network the
    cortex, where veins and calcifications lie."""
    if rng.random() < 0.5:
        image, labels = image[:, :, ::-1], labels[:, ::-1]  # left-right (x is left-right)
        anchors = anchors[:, ::-1] if anchors is not None else None
    if rng.random() < 0.5:
        angle = float(rng.integers(1, max_angle + 1) * rng.choice([-1, 1]))
        image = ndimage.rotate(image, angle, axes=(1, 2), reshape=False, order=1, mode="nearest")
        labels = ndimage.rotate(labels, angle, axes=(0, 1), reshape=False, order=0, mode="nearest")
        anchors = ndimage.rotate(anchors.astype(np.uint8), angle, axes=(0, 1), reshape=False, order=0) if anchors is not None else None
    height, width = labels.shape
    size = crop or round_up(max(height, width))
    points = np.argwhere(labels > 0)
    if not len(points) and crop and anchors is not None:
        points = np.argwhere(anchors)
    centre = points[rng.integers(len(points))] if len(points) else np.array([height // 2, width // 2])
    centre = centre + rng.integers(-max_shift, max_shift + 1, 2)
    top, left = (int(c) - size // 2 for c in centre)
    return _window(image, top, left, size), _window(labels[None], top, left, size)[0]


def _window(array: np.ndarray, top: int, left: int, size: int) -> np.ndarray:
    """array[:, top:top+size, left:left+size] with zero padding outside."""
    out = np.zeros(array.shape[:1] + (size, size), array.dtype)
    src_y = slice(max(top, 0), min(top + size, array.shape[1]))
    src_x = slice(max(left, 0), min(left + size, array.shape[2]))
    if src_y.stop > src_y.start and src_x.stop > src_x.start:
        out[:, src_y.start - top : src_y.stop - top, src_x.start - left : src_x.stop - left] = array[:, src_y, src_x]
    return out


def loss_function(logits: torch.Tensor, target: torch.Tensor, num_classes: int, dice_weight: float) -> torch.Tensor:
    """Cross-entropy (binary for one class), plus optionally soft Dice of the lesion classes."""
    if num_classes == 1:
        probabilities = torch.sigmoid(logits[:, 0])
        loss = F.binary_cross_entropy_with_logits(logits[:, 0], target.float())
        foreground = [(probabilities, target == 1)]
    else:
        loss = F.cross_entropy(logits, target)
        probabilities = torch.softmax(logits, dim=1)
        foreground = [(probabilities[:, k], target == k) for k in range(1, num_classes + 1)]
    if dice_weight > 0:
        dice = [1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1) for p, t in foreground]
        loss = loss + dice_weight * torch.stack(dice).mean()
    return loss


def predicted_classes(network: UNet2D, logits: torch.Tensor) -> torch.Tensor:
    if network.num_classes == 1:
        return (logits[:, 0] > 0).long()
    return logits.argmax(dim=1)


@dataclass
class TrainingConfig:
    inputs: tuple = ("swi", "qsm", "t2")
    task: str = "multiclass"
    base_width: int = 16
    epochs: int = 30
    batch_size: int = 16
    crop: int | None = 128
    learning_rate: float = 1e-3
    dice_weight: float = 1.0
    copies: int = 4  # augmented copies of each lesion slice per epoch
    seed: int = 0
    device: str = "auto"
    validation_fraction: float = 0.25
    mimic_fraction: float = 0.0  # share of lesion-free slices centred on a simulated mimic
    cosine_schedule: bool = False  # learning rate decayed along half a cosine over the epochs

    def __post_init__(self):
        """Refuse values that would train nothing, or train on nonsense, with the checks the
        command line's parser uses (named by their train option)."""
        if not self.inputs or self.inputs[0] != "swi" or not set(self.inputs) <= set(MODALITIES) or len(set(self.inputs)) != len(self.inputs):
            raise InputError("--inputs", f"{list(self.inputs)}: each of {', '.join(MODALITIES)} at most once, SWI first")
        classes_for_task(self.task)
        options.whole_number(self.base_width, "--width", minimum=1, maximum=options.MAX_BASE_WIDTH)
        options.whole_number(self.epochs, "--epochs", minimum=1)
        options.whole_number(self.batch_size, "--batch-size", minimum=1)
        if self.crop is not None and options.whole_number(self.crop, "--crop", minimum=1) % NETWORK_MULTIPLE:
            raise InputError("--crop", f"{self.crop} is not a multiple of {NETWORK_MULTIPLE}")
        options.positive_number(self.learning_rate, "--learning-rate")
        options.real_number(self.dice_weight, "--dice-weight", low=0.0)
        options.whole_number(self.copies, "--copies", minimum=1)
        options.whole_number(self.seed, "--seed", minimum=0)
        options.device(self.device)
        options.real_number(self.validation_fraction, "validation_fraction", 0.0, 1.0, low_open=True)
        options.probability(self.mimic_fraction, "--mimic-fraction")


class Trainer:
    """The epoch loop. Distributed data parallel when launched by torchrun (gloo on CPU,
    NCCL on GPU): each process trains on its share of the epoch's slices."""

    def __init__(self, config: TrainingConfig, train_cases: list[PreparedCase], validation_cases: list[PreparedCase],
                 initial: UNet2D | None = None):
        """`initial`: a U-Net to start from (fine-tuning) instead of fresh weights; it must have
        the configuration's inputs, classes and width (check_initial_network)."""
        import copy

        from .inference import choose_device

        self.config = config
        self.train_cases, self.validation_cases = train_cases, validation_cases
        slice_shapes = {case.labels.shape[1:] for case in train_cases}
        if not config.crop and len(slice_shapes) > 1:
            raise InputError("--crop 0", f"whole slices of {len(slice_shapes)} different sizes cannot share a batch (cases on other grids, e.g. "
                                         "other protocols); train with a crop (--crop 64)")
        self.rank, self.world = _distributed_setup()
        self.device = choose_device(config.device) if self.world == 1 else _distributed_device(self.rank)
        torch.manual_seed(config.seed)
        num_classes = len(classes_for_task(config.task))
        if initial is None:
            self.network = UNet2D(len(config.inputs), num_classes, config.base_width).to(self.device)
        else:
            check_initial_network(initial, config)
            self.network = copy.deepcopy(initial).to(self.device)
        self.model = self.network
        if self.world > 1:
            self.model = torch.nn.parallel.DistributedDataParallel(self.network)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=config.learning_rate)
        self.use_amp = self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.history: list[dict] = []
        self.best_iou = -1.0
        self.best_epoch = -1
        self.best_state = None
        self.started_from: str | None = None  # what `initial` was (recorded in checkpoints); None: fresh weights

    def start_from_initial(self) -> float:
        """Count the starting network as epoch 0: its validation IoU is the one to beat, and it
        is what training returns when no epoch beats it."""
        self.best_iou, self.best_epoch = self.validation_iou(), 0
        self.best_state = {k: v.detach().cpu().clone() for k, v in self.network.state_dict().items()}
        return self.best_iou

    def learning_rate(self, epoch: int) -> float:
        """The epoch's learning rate: constant, or with `cosine_schedule` from the configured
        rate down to 1/20 of it by the last epoch (a function of the epoch alone, so a
        resumed run needs no scheduler state)."""
        rate = self.config.learning_rate
        if not self.config.cosine_schedule or self.config.epochs < 2:
            return rate
        floor = rate / 20
        return floor + (rate - floor) * 0.5 * (1 + math.cos(math.pi * epoch / (self.config.epochs - 1)))

    def train_epoch(self, epoch: int, progress: Callable[[int, int, float], None] | None = None) -> float:
        rng = np.random.default_rng([self.config.seed, epoch])
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate(epoch)
        samples = epoch_samples(self.train_cases, rng, self.config.copies, self.config.mimic_fraction)
        samples = samples[: len(samples) // self.world * self.world][self.rank :: self.world]  # equal shares: no rank waits
        self.model.train()
        losses = []
        for start in range(0, len(samples), self.config.batch_size):
            batch = [self._augmented(sample, rng) for sample in samples[start : start + self.config.batch_size]]
            images = torch.from_numpy(np.stack([b[0] for b in batch])).to(self.device)
            target = torch.from_numpy(np.stack([b[1] for b in batch]).astype(np.int64)).to(self.device)
            with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.use_amp):
                logits = self.model(images)
            loss = loss_function(logits.float(), target, self.network.num_classes, self.config.dice_weight)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            losses.append(loss.item())
            if progress is not None:
                progress(min(start + self.config.batch_size, len(samples)), len(samples), float(np.mean(losses)))
        return float(np.mean(losses)) if losses else float("nan")

    def _augmented(self, sample: Sample, rng: np.random.Generator):
        case, z = self.train_cases[sample.case], sample.z
        anchors = None  # lesion slices are cropped around their lesions: no anchors to transform
        if self.config.crop and not case.labels[z].any():
            anchors = case.mimics[z] == sample.mimic if sample.mimic else case.mask[z]
        return augment(case.stack[:, z], case.labels[z], rng, self.config.crop, anchors=anchors)

    def validation_iou(self) -> float:
        """Mean over lesion classes of intersection / union, summed over the validation
        cases' lesion slices and as many lesion-free ones (fixed choice), whole slices."""
        if not self.validation_cases:
            return float("nan")
        rng = np.random.default_rng([self.config.seed, 10**6])
        samples = epoch_samples(self.validation_cases, rng)
        iou = IoUAccumulator(max(self.network.num_classes, 1))
        self.network.eval()
        # a batch holds slices of one shape (cases may come from other protocols' grids); the
        # accumulated counts do not depend on the order
        def slice_shape(sample) -> tuple[int, ...]:
            return self.validation_cases[sample[0]].labels.shape[1:]

        chunks = []
        for _, same_shape in itertools.groupby(sorted(samples, key=slice_shape), key=slice_shape):
            same_shape = list(same_shape)
            chunks += [same_shape[start : start + self.config.batch_size] for start in range(0, len(same_shape), self.config.batch_size)]
        with torch.inference_mode():
            for chunk in chunks:
                images = [self.validation_cases[c].stack[:, z] for c, z, _ in chunk]
                target = np.stack([self.validation_cases[c].labels[z] for c, z, _ in chunk])
                padded = _pad_to_multiple(np.stack(images), self.network.size_multiple)
                prediction = predicted_classes(self.network, self.network(torch.from_numpy(padded).to(self.device))).cpu().numpy()
                iou.add(prediction[:, : target.shape[1], : target.shape[2]], target)
        return iou.mean()

    def fit(self, start_epoch: int = 0, progress: Callable[[int, int, float], None] | None = None,
            on_epoch: Callable[[Trainer, int], None] | None = None) -> None:
        for epoch in range(start_epoch, self.config.epochs):
            loss = self.train_epoch(epoch, progress)
            iou = self.validation_iou()
            self.history.append({"epoch": epoch + 1, "loss": round(loss, 5), "validation_iou": round(iou, 5)})
            if math.isnan(iou) or iou > self.best_iou:
                self.best_iou, self.best_epoch = iou, epoch + 1
                self.best_state = {k: v.detach().cpu().clone() for k, v in self.network.state_dict().items()}
            if on_epoch is not None and self.rank == 0:
                on_epoch(self, epoch + 1)

    # --- checkpoints: one safetensors file, never pickle -------------------------------
    # Tensors (network, best epoch, optimizer) and the JSON of the epoch, history and
    # configuration travel in one file written atomically, so a kill at any point leaves the
    # previous checkpoint or the new one, never tensors of one epoch with the record of another.

    def save_checkpoint(self, path: Path, epoch: int) -> None:
        tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in self.network.state_dict().items()}
        if self.best_state is not None:
            tensors.update({f"best.{k}": v.contiguous() for k, v in self.best_state.items()})
        optimizer_state = self.optimizer.state_dict()
        for index, state in optimizer_state["state"].items():
            for name, value in state.items():
                tensors[f"optimizer.{index}.{name}"] = torch.as_tensor(value).detach().cpu().contiguous()
        meta = {"format": CHECKPOINT_FORMAT, "epoch": epoch, "best_iou": self.best_iou, "best_epoch": self.best_epoch,
                "history": self.history, "param_groups": optimizer_state["param_groups"], "config": _config_dict(self.config),
                "started_from": self.started_from}
        atomic_write(checkpoint_file(path), lambda p: save_file(tensors, p, metadata={CHECKPOINT_FORMAT: json.dumps(meta)}))
        _suffixed(path, ".json").unlink(missing_ok=True)  # the record of the older two-file checkpoints, now stale

    def load_checkpoint(self, path: Path) -> int:
        """Continue from the checkpoint at `path`; InputError for a file that is not a
        complete DeepMIR checkpoint, or one of another configuration or architecture."""
        file = checkpoint_file(path)
        try:
            with safe_open(str(file), "pt") as handle:
                meta = json.loads((handle.metadata() or {})[CHECKPOINT_FORMAT])
            tensors = load_file(str(file))
        except KeyError:
            raise InputError(file, "holds no DeepMIR checkpoint record (an older two-file checkpoint cannot be checked for a "
                                   "matching pair): start a new run without --resume") from None
        except (OSError, ValueError, RecursionError, SafetensorError) as err:
            raise InputError(file, f"is not a readable checkpoint ({err}); start a new run without --resume") from None
        if not isinstance(meta, dict) or meta.get("format") != CHECKPOINT_FORMAT or not isinstance(meta.get("config"), dict):
            raise InputError(file, "is not a DeepMIR checkpoint; start a new run without --resume")
        if _without_epochs(meta["config"]) != _without_epochs(_config_dict(self.config)):
            raise InputError(file, "checkpoint was made with another configuration; start a new run or use the same options")
        if meta.get("started_from") != self.started_from:
            raise InputError(file, f"checkpoint's run started from {meta.get('started_from') or 'fresh weights'}, this one from "
                                   f"{self.started_from or 'fresh weights'}; start a new run or use the same --fine-tune")
        epoch = meta.get("epoch")
        if not isinstance(epoch, int) or not 1 <= epoch <= self.config.epochs:
            raise InputError(file, f"checkpoint is at epoch {epoch!r}, not between 1 and --epochs {self.config.epochs}")
        try:
            self.network.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
            best = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
            self.best_state = best or None
            state: dict = {}
            for key, value in tensors.items():
                if key.startswith("optimizer."):
                    _, index, name = key.split(".", 2)
                    state.setdefault(int(index), {})[name] = value.to(self.device) if name != "step" else value
            self.optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
            self.best_iou, self.best_epoch, self.history = float(meta["best_iou"]), int(meta["best_epoch"]), list(meta["history"])
        except (RuntimeError, KeyError, ValueError, TypeError) as err:
            raise InputError(file, f"checkpoint does not fit this network and optimizer ({err}); start a new run without --resume") from None
        return epoch


def check_initial_network(network: UNet2D, config: TrainingConfig, source: object = "--fine-tune") -> None:
    """InputError unless `network` takes the configuration's inputs, gives its task's classes
    and has its base width: fine-tuning continues that network, it cannot reshape it."""
    num_classes = len(classes_for_task(config.task))
    found = (network.in_channels, network.num_classes, network.base_width)
    wanted = (len(config.inputs), num_classes, config.base_width)
    if found != wanted:
        raise InputError(source, f"its U-Net takes {found[0]} inputs, gives {found[1]} classes and has base width {found[2]}; "
                                 f"this training wants {wanted[0]} ({'+'.join(config.inputs)}), {wanted[1]} ({config.task}) and "
                                 f"width {wanted[2]} (--width)")


def check_fine_tune(model: LoadedModel, config: TrainingConfig) -> str:
    """InputError unless `model`'s U-Net can be trained further on this configuration (same
    inputs in the same order and task, which only the card names; then the network's shape,
    check_initial_network); returns what names it in the card."""
    card = model.card
    if list(card.inputs) != list(config.inputs) or card.task != config.task:
        raise InputError("--fine-tune", f"model '{card.name}' {card.version} takes {'+'.join(card.inputs)} for the task {card.task}; "
                                        f"this training is {'+'.join(config.inputs)} for {config.task} (--inputs, --task)")
    check_initial_network(model.network, config)
    return f"{card.name} {card.version}'s U-Net (weights sha256 {card.weights_sha256 or 'unrecorded: a network in memory'})"


def _config_dict(config: TrainingConfig) -> dict:
    from dataclasses import asdict

    return json.loads(json.dumps(asdict(config)))


def _suffixed(path: Path, suffix: str) -> Path:
    """`path` + suffix (a checkpoint is <model>.checkpoint.safetensors, beside the model)."""
    return Path(f"{path}{suffix}")


def checkpoint_file(path: Path) -> Path:
    """The one file of the checkpoint `path` (<model>.checkpoint): path + .safetensors."""
    return _suffixed(path, ".safetensors")


def _without_epochs(config: dict) -> dict:
    """A run may be resumed with more epochs than it was started with."""
    return {k: v for k, v in config.items() if k != "epochs"}


def _pad_to_multiple(images: np.ndarray, multiple: int) -> np.ndarray:
    height, width = images.shape[-2:]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    return np.pad(images, ((0, 0), (0, 0), (0, pad_h), (0, pad_w))) if pad_h or pad_w else images


def _distributed_setup() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
    return (torch.distributed.get_rank(), world) if world > 1 else (0, 1)


def _distributed_device(rank: int) -> torch.device:
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", rank))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device("cpu")


def train_model(cases: list[TrainingCase], config: TrainingConfig, out: Path, name: str, version: str, data_description: str,
                resume: bool = False, progress: Callable[[int, int, float], None] | None = None,
                log: Callable[[str], object] = print, cache: CaseCache | None = None, fine_tune: LoadedModel | None = None) -> Path:
    """Prepare the cases, split them, train, and write the best epoch as a model file
    (`out` is the model path without suffix). A checkpoint `<out>.checkpoint.*` is written
    after every epoch; `resume` continues from it. `cache` serves prepared cases (default:
    prepare them here, keep nothing). With `fine_tune`, training starts from that model's
    U-Net, whose validation IoU counts as epoch 0's (kept when no epoch beats it)."""
    if config.mimic_fraction > 0 and not any(c.mimics for c in cases):
        raise InputError("--mimic-fraction", "needs mimics maps (simulated participants); these training cases have none")
    started_from = None
    if fine_tune is not None:
        started_from = check_fine_tune(fine_tune, config)
    train_ids, validation_ids = split_cases([c.case_id for c in cases], config.seed, config.validation_fraction)
    cache = cache or CaseCache()
    counts = cache.prepared, cache.read
    prepared = {c.case_id: case_for_model(cache.get(c, config.inputs), config.inputs, config.task) for c in cases}
    n_prepared, n_read = cache.prepared - counts[0], cache.read - counts[1]
    if cache.folder is not None and n_prepared + n_read:  # nothing to say when every case came from memory
        log(f"{len(cases)} cases ready: {n_read} read from the cache {cache.folder}, {n_prepared} prepared")
    trainer = Trainer(config, [prepared[i] for i in train_ids], [prepared[i] for i in validation_ids],
                      initial=None if fine_tune is None else fine_tune.network)
    trainer.started_from = started_from
    checkpoint = Path(f"{out}.checkpoint")
    start = 0
    if resume and checkpoint_file(checkpoint).exists():
        start = trainer.load_checkpoint(checkpoint)
        log(f"resuming after epoch {start} from {checkpoint_file(checkpoint)}")
    elif resume:
        log(f"no checkpoint at {checkpoint_file(checkpoint)}: starting at epoch 1")
    if fine_tune is not None and start == 0:
        log(f"starting from {started_from}: validation IoU {trainer.start_from_initial():.4f} (epoch 0)")

    def on_epoch(t: Trainer, epoch: int) -> None:
        log(f"epoch {epoch}/{config.epochs}: loss {t.history[-1]['loss']:.4f}, validation IoU {t.history[-1]['validation_iou']:.4f} (best {t.best_iou:.4f} at epoch {t.best_epoch})")
        t.save_checkpoint(checkpoint, epoch)

    trainer.fit(start, progress, on_epoch)
    if trainer.world > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    if trainer.rank != 0:
        return Path(out)
    network = trainer.network.cpu()
    if trainer.best_state is not None:
        network.load_state_dict(trainer.best_state)
    card = ModelCard.for_network(
        network, name, version, config.task, list(config.inputs),
        description=f"DeepMIR U-Net ({config.task}, {'+'.join(m.upper() for m in config.inputs)}) trained on {data_description}.",
        training={
            "data": data_description,
            "training_cases": train_ids,
            "validation_cases": validation_ids,
            "protocol": "paper S3.2 augmentation; lesion slices + equal lesion-free slices per epoch"
                        + (f" ({config.mimic_fraction:.0%} of them around simulated mimics)" if config.mimic_fraction else "")
                        + "; best validation IoU epoch kept",
            "config": _config_dict(config),
            **({"fine_tuned_from": started_from} if started_from else {}),
            "best_epoch": trainer.best_epoch,
            "best_validation_iou": round(trainer.best_iou, 5),
            "history": trainer.history,
            "processes": trainer.world,
            "device": str(trainer.device),
        },
    )
    return save_model(network, card, out)
