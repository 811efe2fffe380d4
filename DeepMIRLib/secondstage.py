"""The second, 3-D stage: a small 3-D CNN that looks at a patch around each candidate the
U-Net proposes and decides microbleed, iron deposit or neither.

The first stage (the paper's 2-D U-Net) runs permissive: every 26-connected component of
its arg-max (no minimum lesion probability) is a candidate, or, when the card gives a
`proposal`, every component where its lesion probabilities sum to at least that (which
also proposes the small lesions the U-Net half sees). A 2-D slice cannot tell a vein
seen in cross-section from a round bleed; a patch that spans several slices can, since a
vein continues through them (Dou et al. 2016, Al-masni et al. 2020). The classifier sees,
for each candidate, the normalised modalities the U-Net uses plus the candidate's own
voxels as one more channel, on a patch of `patch` (z, y, x) canonical voxels centred on
the candidate's centroid, and a few numbers about the candidate (its size, extent through
slices and the U-Net's highest probabilities). A candidate is kept, as the class the
classifier finds most likely of CMB and iron, when that class's probability reaches the
card's calibrated minimum; otherwise it is removed.

The second stage is part of the model: its weights are `<model>.second.safetensors` beside
the U-Net's, and the card's optional `second_stage` section describes it (architecture,
patch, classes, features, calibrated minimum probabilities, training provenance and the
sha256 of its weights: `SecondStageSpec`, defined without torch in secondstagespec and
re-exported here). Training on simulated cohorts, where each candidate's truth is known, is
in `collect_candidates` and `train_classifier`.

Only the classifier needs torch. The candidates, their patches and features, the decisions
and the label map they give are in `candidates` (torch-free, re-exported here), which runs
the classifier as a function of numpy batches: the PyTorch network (`torch_classifier`, on
the CPU) or its ONNX export (onnxrt.second_stage_for or openvinort.second_stage_for). `pipeline.detect`
runs it on the runtime that runs the U-Net (inference.network_runtime: PyTorch, ONNX Runtime
or OpenVINO); with both exports in the cache a two-stage detection off PyTorch imports no
torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from scipy import ndimage
from torch import nn

from . import options
from .candidates import (  # noqa: F401 - the torch-free candidate code (for detection on ONNX Runtime), re-exported here whole
    CandidateFootprint,
    Candidates,
    Classifier,
    apply_second_stage,
    as_classifier,
    classifier_features,
    classify,
    decide,
    decide_candidates,
    extract_candidates,
    extremum_proposals,
    patches_for,
    proposal_labels,
    relabel,
    second_stage_proposals,
    suppress,
)
from .classes import classes_for_task
from .echotime import known_to_reach
from .errors import InputError
from .lesions import components_touching, label_components
from .secondstagespec import (  # noqa: F401 - the card's section (torch-free, for modelfile), re-exported here whole
    DEFAULT_PATCH,
    ECHO_TIME_FEATURE,
    ECHO_TIME_SCALE_MS,
    FEATURE_NAMES,
    MAX_PATCH,
    MAX_WIDTH,
    N_FEATURES,
    SECOND_STAGE_CLASSES,
    SecondStageSpec,
    check_extrema,
    check_proposal,
    check_second_opinion,
    check_suppression_spares,
)

if TYPE_CHECKING:
    from .modelfile import LoadedModel, ModelCard
    from .training import TrainingCase


class CandidateNet(nn.Module):
    """A small 3-D CNN: three 3x3x3 convolution blocks (batch norm, ReLU), in-plane pooling
    first, then 3-D pooling, global average and max pooling, joined by the candidate's
    features (`n_features`: FEATURE_NAMES, and with the echo time one more), and a linear
    head over `SECOND_STAGE_CLASSES`."""

    def __init__(self, in_channels: int, width: int = 16, n_features: int = N_FEATURES):
        super().__init__()

        def block(i, o):
            return nn.Sequential(nn.Conv3d(i, o, 3, padding=1, bias=False), nn.BatchNorm3d(o), nn.ReLU(inplace=True))

        self.in_channels, self.width, self.n_features = in_channels, width, n_features
        self.features = nn.Sequential(
            block(in_channels, width), nn.MaxPool3d((1, 2, 2)),
            block(width, 2 * width), nn.MaxPool3d(2, ceil_mode=True),
            block(2 * width, 4 * width),
        )
        self.head = nn.Sequential(nn.Linear(8 * width + n_features, 2 * width), nn.ReLU(inplace=True),
                                  nn.Linear(2 * width, len(SECOND_STAGE_CLASSES)))

    def forward(self, patches: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        x = self.features(patches)
        pooled = torch.cat([x.mean(dim=(2, 3, 4)), x.amax(dim=(2, 3, 4)), features], dim=1)
        return self.head(pooled)

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Softmax probabilities (N, 3) over SECOND_STAGE_CLASSES from logits."""
        return torch.softmax(logits, dim=1)


def with_echo_time_input(network: CandidateNet) -> CandidateNet:
    """A copy of a classifier without the echo-time feature that takes it as one more feature,
    with zero weights on it: it decides as `network` does until training teaches it the echo
    time's use (fine-tuning a classifier trained without it)."""
    if network.n_features != N_FEATURES:
        raise InputError("second stage", f"the classifier takes {network.n_features} features, not {N_FEATURES}: it has the echo time already")
    widened = CandidateNet(network.in_channels, network.width, N_FEATURES + 1)
    state = network.state_dict()
    weight = state["head.0.weight"]
    state["head.0.weight"] = torch.cat([weight, torch.zeros(weight.shape[0], 1, dtype=weight.dtype)], dim=1)
    widened.load_state_dict(state)
    return widened


def torch_classifier(network: CandidateNet) -> Classifier:
    """`network` as a candidates.Classifier: numpy batches in, softmax probabilities out, on
    the CPU (the second stage's PyTorch runtime; onnxrt.second_stage_for is its ONNX Runtime)."""
    network.eval()

    def run(patches: np.ndarray, features: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return network.probabilities(network(torch.from_numpy(patches), torch.from_numpy(features))).numpy()

    return run


# --- training data ----------------------------------------------------------------------

MIMIC_CAUSES = {1: "vein", 2: "calcification", 3: "perivascular space"}
TOLERANCES = {1: 3.0, 2: 5.0}  # the paper's centroid tolerances, voxels


TRUTHS = ("centroid", "touching")  # what makes a training candidate a lesion: candidate_truth
TOUCHING_TRUTH = ("a candidate is a lesion when its centroid lies within the paper's tolerance of a reference lesion of that class "
                  "and its voxels, grown by one voxel, touch one")


def check_truth(truth: str) -> None:
    if truth not in TRUTHS:
        raise ValueError(f"truth must be one of {TRUTHS}, not {truth!r}")


def candidate_truth(candidates: Candidates, reference: np.ndarray, mimics: np.ndarray | None,
                    truth: str = "centroid") -> tuple[np.ndarray, list[str]]:
    """Each candidate's target (index into SECOND_STAGE_CLASSES) and cause: 'cmb' or 'iron'
    when its centroid lies within the paper's tolerance of a reference lesion of that class
    (the nearer, relative to tolerance, when both), else 'neither' with the cause read from
    the mimic map under its voxels (the kind it overlaps most: 'vein', 'calcification',
    'perivascular space') or 'none'.

    With `truth` "touching", a candidate is a lesion of a class only when its voxels, grown by
    one voxel (26-neighbourhood), also touch a reference lesion of that class: a speck of
    background a few voxels beside a lesion, as the extremum proposals give around the
    U-Net's proposals in the pallidum's natural iron, is then 'neither' and not a lesion that
    is not there (docs/experiments/2026-11-28-iron-classifier-extrema)."""
    check_truth(truth)
    targets = np.zeros(len(candidates), dtype=np.int64)
    causes = []
    ref_centroids, touches = {}, {}
    for value in TOLERANCES:
        labelled, n = label_components(reference == value)
        ref_centroids[value] = (np.array(ndimage.center_of_mass(np.ones(labelled.shape), labelled, range(1, n + 1))).reshape(-1, 3)
                                if n else np.zeros((0, 3)))
        # a candidate grown by one voxel touches a lesion where the lesion grown by one voxel touches the candidate
        touches[value] = (components_touching(candidates.components, len(candidates),
                                              ndimage.binary_dilation(reference == value, np.ones((3, 3, 3), bool)))
                          if truth == "touching" else np.ones(len(candidates), bool))
    boxes = ndimage.find_objects(candidates.components, len(candidates))
    for i, centre in enumerate(candidates.centroid):
        best, best_ratio = 0, math.inf
        for value, tolerance in TOLERANCES.items():
            if len(ref_centroids[value]) and touches[value][i]:
                ratio = np.linalg.norm(ref_centroids[value] - centre, axis=1).min() / tolerance
                if ratio <= 1 and ratio < best_ratio:
                    best, best_ratio = value, ratio
        targets[i] = best
        if best:
            causes.append(SECOND_STAGE_CLASSES[best])
            continue
        cause = "none"
        if mimics is not None:
            under = mimics[boxes[i]][candidates.components[boxes[i]] == i + 1]  # within its box, not the whole volume
            under = under[under > 0]
            if under.size:
                cause = MIMIC_CAUSES.get(int(np.bincount(under).argmax()), "none")
        causes.append(cause)
    return targets, causes


@dataclass
class CandidateSet:
    """Candidates of a cohort for training or calibrating the second stage."""

    patches: np.ndarray  # (n, C + 1, *patch)
    features: np.ndarray  # (n, N_FEATURES)
    targets: np.ndarray  # (n,) index into SECOND_STAGE_CLASSES
    causes: list  # 'cmb', 'iron', 'vein', 'calcification', 'perivascular space', 'none'
    participants: list  # participant id of each candidate
    unet_label: np.ndarray  # (n,) the U-Net's label value

    def save(self, path) -> None:
        np.savez_compressed(path, patches=self.patches, features=self.features, targets=self.targets, causes=np.array(self.causes),
                            participants=np.array(self.participants), unet_label=self.unet_label)

    @classmethod
    def load(cls, path) -> CandidateSet:
        data = np.load(path)
        return cls(data["patches"], data["features"], data["targets"], list(data["causes"]), list(data["participants"]), data["unet_label"])

    def subset(self, index: np.ndarray) -> CandidateSet:
        return CandidateSet(self.patches[index], self.features[index], self.targets[index], [self.causes[i] for i in index],
                            [self.participants[i] for i in index], self.unet_label[index])


def limit_negatives(candidates: CandidateSet, per_lesion: int, seed: int = 0) -> CandidateSet:
    """`candidates` with at most `per_lesion` 'neither' candidates per lesion candidate, drawn
    at random (a weak U-Net proposes thousands of specks of noise, which would cost most of the
    training time and teach little; the class-weighted loss balances what is left)."""
    negatives = np.flatnonzero(candidates.targets == 0)
    allowed = per_lesion * int((candidates.targets > 0).sum())
    if len(negatives) <= allowed:
        return candidates
    kept = np.random.default_rng(seed).choice(negatives, allowed, replace=False)
    return candidates.subset(np.sort(np.concatenate([np.flatnonzero(candidates.targets > 0), kept])))


def _training_case(case) -> TrainingCase:
    """A TrainingCase as given, or that of a participant folder (`training.participant_case`)."""
    from .training import TrainingCase, participant_case

    if isinstance(case, TrainingCase):
        return case
    found = participant_case(Path(case))
    if found is None:
        raise InputError(case, "is not a participant folder with swi and labels")
    return found


def check_case_echo_time(case: TrainingCase) -> float:
    """A training or calibration case's SWI echo time (its sidecar: echotime); InputError when it has none."""
    from .echotime import MISSING_ECHO_TIME

    echo_time = case.inputs.echo_time()
    if echo_time is None:
        raise InputError(case.inputs.swi, f"training case {case.case_id}: {MISSING_ECHO_TIME}")
    return echo_time


def _permissive_unet(case: TrainingCase, loaded, detect_options: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The U-Net alone on a case, arg-max without a minimum probability, in canonical
    orientation: the model's input stack, the labels and the per-class probabilities
    (K, Z, Y, X)."""
    from .pipeline import detect

    return unet_arrays(detect(case.inputs, loaded, min_probability=0, stages=1, **detect_options), loaded)


def unet_arrays(detection, loaded) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A one-stage detection's input stack, labels and per-class probabilities (K, Z, Y, X),
    in canonical orientation."""
    from .preprocessing import stack_modalities
    from .volumes import to_canonical

    prepared = detection.prepared
    stack = stack_modalities(prepared.canonical, loaded.card.inputs, prepared.mask)
    labels = to_canonical(detection.labels)[0].array
    probabilities = np.stack([to_canonical(detection.probabilities[c.key])[0].array for c in loaded.card.lesion_classes])
    return stack, labels, probabilities


def _canonical_map(path) -> np.ndarray | None:
    from .volumes import read_volume, to_canonical

    return None if path is None else to_canonical(read_volume(path))[0].array.astype(np.int64)


def collect_candidates(cases, model, patch=DEFAULT_PATCH, progress=None, proposals=(None,), extrema: dict | None = None,
                       truth: str = "centroid", echo_time: bool = False, **detect_options) -> CandidateSet:
    """The U-Net's candidates (`pipeline.detect`, one stage, no minimum probability) in
    training cases (TrainingCase, or participant folders), each with its truth from the
    case's labels and, for simulated ones, mimics (`candidate_truth`). The U-Net runs once per
    participant; its candidates are collected for each of `proposals` (`proposal_labels`:
    None the arg-max's components, a number the components where the lesion probabilities sum
    to at least it; for training, several give more and harder negatives), each with the
    small microbleeds it does not propose when `extrema` is given (`extremum_proposals`);
    `truth` says what makes a candidate a lesion (`candidate_truth`); with `echo_time`, each
    candidate's features end with its SWI's echo time (`classifier_features`; every case must
    give one)."""
    from .modelfile import LoadedModel, load_model

    check_truth(truth)  # before any U-Net runs
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    class_labels = [c.label for c in loaded.card.lesion_classes]
    cases = [_training_case(case) for case in cases]
    echo_times = [check_case_echo_time(case) if echo_time else None for case in cases]  # every case's, before any U-Net runs
    parts = {k: [] for k in ("patches", "features", "targets", "causes", "participants", "unet_label")}
    for n, case in enumerate(cases):
        stack, labels, probabilities = _permissive_unet(case, loaded, detect_options)
        reference, mimics = _canonical_map(case.labels), _canonical_map(case.mimics)
        for proposal in proposals:
            proposed = extremum_proposals(proposal_labels(labels, probabilities, class_labels, proposal), stack, loaded.card.inputs, extrema)
            candidates = extract_candidates(proposed, probabilities, class_labels)
            targets, causes = candidate_truth(candidates, reference, mimics, truth)
            parts["patches"].append(patches_for(stack, candidates, patch))
            parts["features"].append(classifier_features(candidates.features, echo_time, echo_times[n], case.inputs.swi))
            parts["targets"].append(targets)
            parts["causes"] += causes
            parts["participants"] += [case.case_id] * len(candidates)
            parts["unet_label"].append(candidates.label)
        if progress:
            progress(n + 1, len(cases))
    return CandidateSet(np.concatenate(parts["patches"]), np.concatenate(parts["features"]), np.concatenate(parts["targets"]),
                        parts["causes"], parts["participants"], np.concatenate(parts["unet_label"]))


def augment_patches(patches: np.ndarray, rng: np.random.Generator, contrast: tuple[float, float] | None = None) -> np.ndarray:
    """A training batch of patches (n, C + 1, Z, Y, X) flipped left-right and front-back (each
    with probability 1/2) and turned in-plane by a multiple of 90 degrees; with `contrast`
    (low, high), every image channel of every patch (not the last, the candidate's own voxels)
    is also multiplied by a factor of its own drawn uniformly from [low, high]. The patches are
    z-scores over the brain, and another protocol's echo times, noise and bias field stretch or
    compress them: on the unseen protocol A the microbleeds' SWI z-scores are about 0.7 times
    the nominal protocol's (docs/experiments/2026-11-27-protocol-a-microbleeds)."""
    if rng.random() < 0.5:
        patches = patches[..., ::-1]
    if rng.random() < 0.5:
        patches = patches[..., ::-1, :]
    patches = np.ascontiguousarray(np.rot90(patches, rng.integers(4), axes=(3, 4)))
    if contrast is not None:
        factors = np.ones(patches.shape[:2] + (1, 1, 1), dtype=patches.dtype)
        factors[:, :-1] = rng.uniform(contrast[0], contrast[1], size=(patches.shape[0], patches.shape[1] - 1, 1, 1, 1))
        patches = patches * factors
    return patches


def check_contrast(value, name: str = "contrast") -> tuple[float, float]:
    """(low, high) factors for augment_patches: 0 < low <= high."""
    if isinstance(value, str) or len(value) != 2:
        raise InputError(name, f"{value!r} is not a pair of factors (low, high)")
    low, high = (options.real_number(v, name, 0.0, None, low_open=True) for v in value)
    if low > high:
        raise InputError(name, f"the low factor {low:g} is above the high one {high:g}")
    return low, high


def train_classifier(train: CandidateSet, width: int = 16, epochs: int = 30, batch_size: int = 32, learning_rate: float = 1e-3,
                     seed: int = 0, log=print, patch=None, initial: CandidateNet | None = None,
                     contrast: tuple[float, float] | None = None) -> CandidateNet:
    """Train the classifier on a CandidateSet: cross-entropy weighted by inverse class
    frequency, Adam, augment_patches (flips, turns and with `contrast` its random contrast);
    with `patch` smaller than the set's patches, a random crop of that size (the candidate off
    centre by up to half the difference). From fresh weights, or from a copy of `initial`'s
    (fine-tuning; `width` is then its width; it must take as many features as the set gives)."""
    patch = tuple(patch or train.patches.shape[2:])
    margin = np.array(train.patches.shape[2:]) - np.array(patch)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    if initial is not None:
        import copy

        if initial.n_features != train.features.shape[1]:
            raise InputError("second stage", f"the classifier to fine-tune takes {initial.n_features} features; the candidates "
                                             f"have {train.features.shape[1]}")
        network = copy.deepcopy(initial)
    else:
        network = CandidateNet(train.patches.shape[1], width, train.features.shape[1])
    counts = np.bincount(train.targets, minlength=len(SECOND_STAGE_CLASSES)).astype(float)
    weights = torch.tensor(counts.sum() / np.maximum(counts, 1) / len(counts), dtype=torch.float32)
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    optimiser = torch.optim.Adam(network.parameters(), lr=learning_rate, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, epochs)
    n = len(train.targets)
    for epoch in range(epochs):
        network.train()
        order = rng.permutation(n)
        total = 0.0
        for start in range(0, n, batch_size):
            index = order[start:start + batch_size]
            offset = [rng.integers(m + 1) for m in margin]
            patches = train.patches[index][(slice(None), slice(None), *(slice(o, o + p) for o, p in zip(offset, patch)))]
            patches = augment_patches(patches, rng, contrast)
            logits = network(torch.from_numpy(patches), torch.from_numpy(train.features[index]))
            loss = loss_fn(logits, torch.from_numpy(train.targets[index]))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(index)
        scheduler.step()
        if log:
            log(f"epoch {epoch + 1}/{epochs}: loss {total / n:.4f}")
    network.eval()
    return network


def _centroids(labels: np.ndarray) -> dict[int, np.ndarray]:
    """Per lesion label (1, 2): the (n, 3) centroids of its connected components in `labels`."""
    centroids = {}
    for value in (1, 2):
        labelled, n = label_components(labels == value)
        centroids[value] = np.array(ndimage.center_of_mass(np.ones(labels.shape), labelled, range(1, n + 1))).reshape(-1, 3)
    return centroids


def _counts(found: dict[int, np.ndarray], reference_centroids: dict[int, np.ndarray]) -> dict:
    """TP/FP/FN per class key of a canonical label map's lesion centroids (`_centroids`, or
    CandidateFootprint.lesion_centroids) against the reference's, by the paper's centroid
    matching (metrics.match_class, tolerances 3 and 5 voxels)."""
    from .metrics import match_class

    counts = {}
    for value, key in ((1, "cmb"), (2, "iron")):
        result = match_class(found[value], reference_centroids[value], TOLERANCES[value])
        counts[key] = (result.tp, result.fp, result.fn)
    return counts


def score_cohort(cases, model, network: CandidateNet, spec: SecondStageSpec, progress=None, **detect_options) -> list:
    """Per training case (TrainingCase, or participant folder): the counts of the U-Net's
    canonical labels (arg-max and calibrated), its candidates (`spec.proposal`), their scores and the
    reference's lesion centroids (`_centroids`), for choosing and checking the second stage's
    minimum probabilities."""
    from .modelfile import LoadedModel, load_model

    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    rows = []
    for n, case in enumerate(cases):
        case = _training_case(case)
        rows.append(score_case(case, _permissive_unet(case, loaded, detect_options), loaded, network, spec))
        if progress:
            progress(n + 1, len(cases))
    return rows


def score_unet(case: TrainingCase, unet: tuple[np.ndarray, np.ndarray, np.ndarray], loaded) -> dict:
    """What every second-stage classifier's row of a case shares (`score_case`): the
    reference's lesion centroids and the counts of the U-Net's arg-max and calibrated label
    maps (kept as counts: a calibration holds a row per participant)."""
    from .lesions import remove_lesions
    from .pipeline import min_probability_by_label

    _, labels, probabilities = unet
    class_labels = [c.label for c in loaded.card.lesion_classes]
    calibrated = remove_lesions(labels, 1, {v: probabilities[k] for k, v in enumerate(class_labels)},
                                min_probability_by_label(loaded.card, None))
    reference = _centroids(_canonical_map(case.labels))
    return {"participant": case.case_id, "reference": reference,
            "unet_counts": {"argmax": _counts(_centroids(labels), reference), "calibrated": _counts(_centroids(calibrated), reference)}}


def score_case(case: TrainingCase, unet: tuple[np.ndarray, np.ndarray, np.ndarray], loaded, network: CandidateNet,
               spec: SecondStageSpec, unet_row: dict | None = None) -> dict:
    """One row of `score_cohort`, from the case's one-stage U-Net arrays (`_permissive_unet`:
    stack, arg-max labels and probabilities, canonical): `unet_row` (`score_unet`, computed
    here when not given: a model with a classifier per class shares it), the candidates'
    footprints (CandidateFootprint: what counting needs of them, without their full-size
    map) and their scores."""
    stack, labels, probabilities = unet
    class_labels = [c.label for c in loaded.card.lesion_classes]
    proposed = second_stage_proposals(spec, labels, probabilities, class_labels, stack, loaded.card.inputs)
    candidates = extract_candidates(proposed, probabilities, class_labels)
    features = classifier_features(candidates.features, spec.uses_echo_time, case.inputs.echo_time() if spec.uses_echo_time else None,
                                   case.inputs.swi)
    scores = classify(network, patches_for(stack, candidates, spec.patch), features, average_flips=spec.average_flips)
    return {**(unet_row or score_unet(case, unet, loaded)), "candidates": CandidateFootprint.of(candidates), "scores": scores}


def score_classifiers(case: TrainingCase, unet: tuple[np.ndarray, np.ndarray, np.ndarray], loaded, indices) -> dict[int, dict]:
    """`score_case` rows of one case for the card's classifiers at `indices`, from one U-Net
    run (`unet`) and one `score_unet` row shared by them."""
    unet_row = score_unet(case, unet, loaded)
    return {index: score_case(case, unet, loaded, loaded.second_stage_network(index), loaded.card.second_stages[index], unet_row)
            for index in indices}


def cohort_figures(rows, which: str = "second", min_probability: dict | None = None, spec: SecondStageSpec | None = None) -> dict:
    """Pooled TP/FP/FN, sensitivity and precision per class over `rows` (`score_cohort`) for
    the U-Net's 'argmax' or 'calibrated' labels, or the 'second' stage at `min_probability`
    with the rest of the decision rule of `spec`, the card's section (`decide_candidates`).
    A row keeps the counts of each set of second-stage decisions it has been scored with
    ("counts_by_decisions"): most thresholds of a calibration grid change no decision."""
    from .metrics import pooled_rates

    total = {"cmb": [0, 0, 0], "iron": [0, 0, 0]}
    for row in rows:
        if which == "second":
            if spec is None:
                raise ValueError("the second stage's figures need its card section (spec) for the rest of its decision rule")
            decisions = decide_candidates(row["candidates"], row["scores"], spec, min_probability)
            cache, key = row.setdefault("counts_by_decisions", {}), decisions.tobytes()
            if key not in cache:
                cache[key] = _counts(row["candidates"].lesion_centroids(decisions), row["reference"])
            by_class = cache[key]
        else:
            by_class = row["unet_counts"][which]
        for key, counts in by_class.items():
            total[key] = [a + b for a, b in zip(total[key], counts)]
    figures = {}
    for key, (tp, fp, fn) in total.items():
        rates = pooled_rates(tp, fp, fn, undefined=1.0)  # no lesion and none found: nothing missed, nothing false
        figures[key] = {"tp": tp, "fp": fp, "fn": fn, **{name: round(value, 4) for name, value in rates.items()}}
    return figures


CALIBRATION_GRID = tuple(float(t) for t in np.round(np.arange(0.05, 1.0, 0.05), 2))


def choose_min_probability(rows, spec: SecondStageSpec, grid=CALIBRATION_GRID, keys: tuple[str, ...] | None = None) -> dict:
    """Per lesion class the classifier decides (or of `keys` among them), the lowest minimum
    probability with the highest F1 (pooled over the calibration participants, the paper's
    centroid matching; the rest of the decision rule `spec`'s), and the table. A class it does
    not decide keeps `spec`'s minimum: that changes none of its decided lesions (`decide` labels
    a candidate by its likelier class first), and pipeline.combine_stages takes only those."""
    keys = spec.decided_keys() if keys is None else keys
    tables = {key: [] for key in keys}
    for t in grid:
        figures = cohort_figures(rows, "second", {**spec.min_probability, **{key: t for key in keys}}, spec)
        for key, table in tables.items():
            table.append({"min_probability": t, **figures[key]})
    chosen = dict(spec.min_probability)
    for key, table in tables.items():
        best = max(r["f1"] for r in table)
        chosen[key] = next(r["min_probability"] for r in table if r["f1"] == best)
    return {"min_probability": chosen, "tables": tables}


DEFAULT_PROPOSAL = 0.02  # chosen on the selection cohort (docs/experiments/2026-11-25-second-stage, part 2)
MAX_NEGATIVES_PER_LESION = 4  # 'neither' training candidates kept per lesion candidate (limit_negatives)
TRAINING_PATCH = (13, 28, 28)  # cached around each training candidate, cropped at random to the patch
SUPPRESSION = {"cmb": 3.0, "iron": 5.0}  # the paper's centroid tolerances


def _describe(proposals, extrema: dict | None = None) -> str:
    described = " and ".join("the arg-max components" if p is None else f"components of lesion probability >= {p:g}" for p in proposals)
    if extrema:
        described += (f", with the SWI minima below {extrema['swi_below']:g} SD beside a QSM maximum above {extrema['qsm_above']:g} SD "
                      "that they do not propose")
    return described


def check_standard_echo_times(specs: tuple[SecondStageSpec, ...], cases, echo_times: dict[str, float | None] | None = None) -> None:
    """InputError, before any work, when a calibration of the standard minimum of `specs` would
    count a case whose SWI echo time is known and reaches a classifier's long-echo rule
    (`long_echo`): detection would decide that case at the long-echo minimum, not at the one
    being chosen for it. `echo_times`: the cases' echo times by case id, when the caller has
    read them already (else each case's sidecar is read here)."""
    specs = [spec for spec in specs if spec.long_echo]
    if not specs:
        return
    for case in (_training_case(c) for c in cases):
        echo_time = echo_times[case.case_id] if echo_times is not None else case.inputs.echo_time()
        spec = next((spec for spec in specs if known_to_reach(echo_time, spec.long_echo["from_ms"])), None)
        if spec is not None:
            raise InputError(case.inputs.swi, f"calibration case {case.case_id}: SWI echo time {echo_time:g} ms; the model's "
                                              f"{'/'.join(spec.decided_keys())} classifier has a minimum of its own from "
                                              f"{spec.long_echo['from_ms']:g} ms: calibrate its standard minimum on shorter echoes, and "
                                              f"the long-echo one with python -m DeepMIRLib.secondstage --long-echo")


def calibrate_second_stage(model, network: CandidateNet, spec: SecondStageSpec, cases, log=print, rows: list | None = None) -> SecondStageSpec:
    """`spec` with the minimum probabilities per class chosen on `cases` (TrainingCase, or
    participant folders, none trained on) for `network` behind `model`'s U-Net
    (`choose_min_probability` with the spec's proposal and suppression), and the record of
    that choice as its `calibration`. `rows`: the cases' `score_cohort` rows when they are
    scored already (`deepmir calibrate` scores each while calibrating the U-Net, from the same
    detection, after its own `check_standard_echo_times`)."""
    import dataclasses

    if rows is None:
        check_standard_echo_times((spec,), cases)
        rows = score_cohort(cases, model, network, spec, progress=lambda done, total: log(f"calibration: {done}/{total} participants"))
    choice = choose_min_probability(rows, spec)
    baseline = {which: cohort_figures(rows, which) for which in ("argmax", "calibrated")}
    decided = spec.decided_keys()
    chosen = {key: figures for key, figures in cohort_figures(rows, "second", choice["min_probability"], spec).items() if key in decided}
    log(f"calibration cohort: U-Net calibrated {baseline['calibrated']}; U-Net arg-max {baseline['argmax']}; "
        f"two stages at {choice['min_probability']}: {chosen}")
    return dataclasses.replace(
        spec, min_probability=choice["min_probability"],
        calibration={"data": f"{len(rows)} participants: " + ", ".join(row["participant"] for row in rows)
                             + f"; candidates: {_describe([spec.proposal], spec.extrema)}",
                     "rule": "per class, the lowest minimum probability with the highest F1 (pooled, centroid tolerances 3 and 5 "
                             "voxels), pieces within " + " / ".join(f"{v:g} ({k})" for k, v in spec.suppression.items())
                             + " voxels of a larger kept one suppressed"
                             + (f"; U-Net lesions kept as keep_unet {spec.keep_unet} says" if spec.keep_unet else ""),
                     "figures": {"unet_calibrated": baseline["calibrated"], "unet_argmax": baseline["argmax"], "two_stages": chosen},
                     "tables": choice["tables"]})


def check_spares_for_training(spares: object, fine_tune: bool, name: str) -> dict:
    """Suppression spares for a classifier about to be trained: valid (check_suppression_spares),
    and only for fresh weights, since a fine-tuned classifier keeps its start's rules."""
    if fine_tune:
        raise InputError(name, "a fine-tuned classifier keeps its own suppression rules; give spares for fresh weights only")
    return check_suppression_spares(spares, name)


def build_two_stage_model(model, train_cases, calibration_cases, out, *, patch=DEFAULT_PATCH, width: int = 16, epochs: int = 40,
                          proposals=(None, 0.02), proposal: float | None = DEFAULT_PROPOSAL, version: str | None = None, seed: int = 0,
                          extrema: dict | None = None, fine_tune: bool = False, learning_rate: float = 1e-3, truth: str = "centroid",
                          contrast: tuple[float, float] | None = None, echo_time: bool = False, suppression_spares: dict | None = None,
                          log=print) -> dict:
    """Train a second stage for `model` on the candidates of `train_cases` (TrainingCase, or
    participant folders; simulated ones give each false candidate's cause): those of each of
    `proposals` (`proposal_labels`; by default the arg-max's components and, for harder
    negatives, those where the lesion probabilities sum to 0.02), at most
    MAX_NEGATIVES_PER_LESION 'neither' per lesion, each from a patch of TRAINING_PATCH cropped
    at random to `patch`. Then choose its minimum probabilities on
    `calibration_cases` (never trained on) with SUPPRESSION and the candidates it will be
    given in detection (`proposal`, the card's), and write the U-Net with it as a new model
    at `out`. With `extrema`, the candidates of training, calibration and detection also
    include the microbleeds the U-Net does not propose (candidates.extremum_proposals); with
    `fine_tune`, training starts from `model`'s own second stage (its width and patch);
    `truth` says which training candidates are lesions (`candidate_truth`); `contrast` (low, high)
    adds augment_patches' random contrast; with `echo_time` (always when fine-tuning a classifier
    that has it) the classifier also takes the SWI's echo time (ECHO_TIME_FEATURE, from each
    case's sidecar), and a fine-tuned one without it starts with zero weights on it
    (`with_echo_time_input`); `suppression_spares` (fresh weights only: a fine-tuned classifier
    keeps its own rules) spares candidates of a size from suppression (`suppress`), in
    calibration and detection. Returns the card's second_stage section."""
    import copy
    import dataclasses

    from .modelfile import LoadedModel, load_model, save_model

    contrast = None if contrast is None else check_contrast(contrast)
    if suppression_spares is not None:
        suppression_spares = check_spares_for_training(suppression_spares, fine_tune, "suppression spares")
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    if fine_tune:
        if len(loaded.card.second_stages) != 1:
            raise InputError("second stage", f"model '{loaded.card.name}' has {len(loaded.card.second_stages)} second-stage "
                                             f"classifiers; fine-tuning starts from a model with one")
        width, patch = loaded.card.second_stage.width, loaded.card.second_stage.patch
        echo_time = echo_time or loaded.card.second_stage.uses_echo_time
    train_cases, calibration_cases = [_training_case(c) for c in train_cases], [_training_case(c) for c in calibration_cases]
    if proposal not in proposals:
        proposals = (*proposals, proposal)
    if echo_time:  # the calibration cases' echo times too, before any U-Net runs
        for case in calibration_cases:
            check_case_echo_time(case)
    train = collect_candidates(train_cases, loaded, TRAINING_PATCH, proposals=proposals, extrema=extrema, truth=truth, echo_time=echo_time,
                               progress=lambda done, total: log(f"candidates: {done}/{total} training participants"))
    missing = [name for k, name in enumerate(SECOND_STAGE_CLASSES) if not (train.targets == k).any()]
    if {"cmb", "iron"} <= set(missing):
        raise InputError("second stage", f"none of the U-Net's {len(train.targets)} candidates in the {len(train_cases)} training "
                                         f"participants is a microbleed or an iron deposit: nothing to learn from")
    collected = len(train.targets)
    train = limit_negatives(train, MAX_NEGATIVES_PER_LESION, seed)
    counts = {c: train.causes.count(c) for c in sorted(set(train.causes))}
    log(f"training candidates: {len(train.targets)} {counts}"
        + (f" (of {collected}: at most {MAX_NEGATIVES_PER_LESION} 'neither' per lesion candidate)" if collected > len(train.targets) else ""))
    if missing:  # in a small cross-validation fold this happens; the card says so
        log(f"warning: no training candidate is a {' or a '.join(missing)}: the classifier will not learn to call one that")
    initial = None
    if fine_tune:
        initial = loaded.second_stage
        if echo_time and not loaded.card.second_stage.uses_echo_time:
            initial = with_echo_time_input(initial)
    network = train_classifier(train, width, epochs, learning_rate=learning_rate, seed=seed, log=log, patch=patch, initial=initial,
                               contrast=contrast)
    features = (*FEATURE_NAMES, ECHO_TIME_FEATURE) if echo_time else FEATURE_NAMES
    spec = SecondStageSpec("cnn3d", width, len(loaded.card.inputs) + 1, tuple(patch), features=features, suppression=dict(SUPPRESSION),
                           proposal=proposal, extrema=extrema, suppression_spares=suppression_spares)
    if fine_tune:  # the rules that merge the classifier's decisions were chosen for it: they stay with it
        start = loaded.card.second_stage
        spec = dataclasses.replace(spec, suppression=dict(start.suppression), suppression_spares=start.suppression_spares,
                                   average_flips=start.average_flips)
    spec = calibrate_second_stage(loaded, network, spec, calibration_cases, log)
    card = copy.deepcopy(loaded.card)
    card.version = version or card.version + "+2stage"
    names = ", ".join(sorted(c.case_id for c in train_cases))
    card.second_stage = dataclasses.replace(
        spec,
        training={"data": f"candidates of the U-Net ({_describe(proposals, extrema)}; patches of {TRAINING_PATCH} cropped at random to "
                          f"{tuple(patch)}) in {len(train_cases)} participants: {names}",
                  "candidates": counts, **({"classes_without_candidates": missing} if missing else {}),
                  **({"echo_times_ms": sorted({round(case.inputs.echo_time(), 1) for case in train_cases})} if echo_time else {}),
                  **({"truth": TOUCHING_TRUTH} if truth == "touching" else {}),
                  **({"candidates_collected": collected, "negatives_kept_per_lesion": MAX_NEGATIVES_PER_LESION}
                     if collected > len(train.targets) else {}),
                  "epochs": epochs, "width": width, "seed": seed,
                  **({"fine_tuned_from": f"{loaded.card.name} {loaded.card.version}'s second stage "
                                         f"(weights sha256 {loaded.card.second_stage.weights_sha256})"} if fine_tune else {}),
                  "loss": f"class-weighted cross-entropy, Adam {learning_rate:g}, cosine schedule",
                  "augmentation": "random crop, left-right and front-back flips, in-plane 90-degree turns"
                                  + (f", each image channel's contrast multiplied by a factor drawn from [{contrast[0]:g}, {contrast[1]:g}]"
                                     if contrast else "")})
    card.created = ""
    save_model(loaded.network, card, out, second_stage=network)
    return card.second_stage.to_dict()


def per_class_model(deciders: dict[str, LoadedModel | Path | str], out: Path | str, version: str | None = None,
                    base: LoadedModel | Path | str | None = None) -> Path:
    """A model whose second stage takes each lesion class from a classifier of its own:
    `deciders` maps class keys to models (LoadedModel, file or registry id) that share the U-Net
    (the same tensors) and have one second-stage classifier each; the new card lists those
    classifiers in the order given, each deciding its class (so where two claim a voxel, the
    first given wins: pipeline.combine_stages), with the U-Net file, int8 file, calibration and
    records of `base` (a model with the same U-Net; default the first given). Nothing is
    trained or calibrated again: each classifier keeps its own calibrated minimum
    probabilities, and every file is a byte copy of a checked one (the card, written last,
    names them). Returns the new card's path, loaded once to check it."""
    import copy
    import dataclasses

    from .modelfile import LoadedModel, load_model

    keys = {c.key for c in classes_for_task("multiclass")}
    if not deciders or set(deciders) - keys:
        raise InputError("--per-class", f"give KEY=MODEL for class keys among {sorted(keys)}, not {sorted(deciders)}")
    loaded = {key: model if isinstance(model, LoadedModel) else load_model(model) for key, model in deciders.items()}
    first = next(iter(loaded.values())) if base is None else base if isinstance(base, LoadedModel) else load_model(base)
    for model in loaded.values():
        if len(model.card.second_stages) != 1:
            raise InputError(model.path, f"has {len(model.card.second_stages)} second-stage classifiers; --per-class takes models with one")
    check_same_unet(first, loaded.values())

    card = copy.deepcopy(first.card)
    card.second_stages = tuple(
        dataclasses.replace(model.card.second_stage, decides=(key,), training={
            **model.card.second_stage.training, "taken_from": f"{model.card.name} {model.card.version} ({model.path.name}), deciding {key} here"})
        for key, model in loaded.items())
    card.version = version or card.version
    classifier_files = [model.path.parent / model.card.second_stage.weights_file for model in loaded.values()]
    return write_model_copy(first, card, classifier_files, out)


def check_same_unet(base: LoadedModel, models) -> None:
    """InputError unless every one of `models` (LoadedModel) has `base`'s inputs and U-Net
    tensors: the classifiers of one model share its U-Net."""
    from .modelfile import state_digest

    unet = state_digest(base.network)
    for model in models:
        if model.card.inputs != base.card.inputs or state_digest(model.network) != unet:
            raise InputError(model.path, f"has another U-Net or other inputs than {base.path}: the classifiers of one model share its U-Net")


def per_echo_time_model(model, key: str, long_echo_classifier, from_ms: float, out: Path | str, version: str | None = None) -> Path:
    """A copy of `model` whose classifier deciding class `key` (it alone, deciding only that
    class) runs only for SWIs whose echo time is not known to be `from_ms` ms or longer, and
    whose card adds, for the SWIs that are, the classifier deciding `key` of
    `long_echo_classifier` (a model with the same U-Net: LoadedModel, file or registry id), with
    its own minimum probabilities (SecondStageSpec.echo_times). Why: a classifier fine-tuned on
    iron-rich slabs found more deposits at nominal echo times and kept false ones at long
    ones (docs/experiments/2026-11-28-long-echo-iron-minimum). Nothing is trained or
    calibrated; every file is a byte copy of a checked one."""
    import copy
    import dataclasses

    from .echotime import check_echo_time_ms
    from .modelfile import LoadedModel, ModelCard, load_model

    if key not in SECOND_STAGE_CLASSES[1:]:
        raise InputError("--long-echo-classifier", f"{key!r} is not a class key among {list(SECOND_STAGE_CLASSES[1:])}")
    from_ms = check_echo_time_ms(from_ms, "--long-echo")
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    other = long_echo_classifier if isinstance(long_echo_classifier, LoadedModel) else load_model(long_echo_classifier)
    check_same_unet(loaded, [other])
    specs = list(loaded.card.second_stages)
    short = [index for index, spec in enumerate(specs) if key in spec.decided_keys()]
    if len(short) != 1 or specs[short[0]].decided_keys() != (key,) or specs[short[0]].echo_times:
        raise InputError(loaded.path, f"needs one second-stage classifier deciding {key} (and nothing else) at every echo time")
    long = [spec for spec in other.card.second_stages if key in spec.decided_keys()]
    if len(long) != 1 or long[0].echo_times or long[0].second_opinion:
        raise InputError(other.path, f"needs one second-stage classifier deciding {key}, at every echo time and without a second opinion")
    specs[short[0]] = dataclasses.replace(specs[short[0]], echo_times={"below_ms": from_ms})
    specs.append(dataclasses.replace(long[0], decides=(key,), echo_times={"from_ms": from_ms}, training={
        **long[0].training, "taken_from": f"{other.card.name} {other.card.version} ({other.path.name}), deciding {key} here "
                                          f"for SWI echo times from {from_ms:g} ms"}))
    card = copy.deepcopy(loaded.card)
    card.second_stages = tuple(specs)
    card.version = version or f"{card.version}+per-echo-time"
    card = ModelCard.from_dict(card.to_dict(), "--long-echo-classifier")  # checked as a card read from disk is
    classifier_files = [loaded.path.parent / spec.weights_file for spec in loaded.card.second_stages] + [other.path.parent / long[0].weights_file]
    return write_model_copy(loaded, card, classifier_files, out)


def with_unet(model, unet_model, out: Path | str, version: str | None = None) -> Path:
    """A copy of `model` (card, second-stage classifiers, minimum probabilities) whose U-Net is
    `unet_model`'s (a model of the same architecture, inputs, classes and normalisation, such as
    `deepmir train --fine-tune` makes from `model`; LoadedModel, file or registry id). The card's
    training section becomes the new U-Net's; the int8 file (the old U-Net quantized) and the
    card's metrics (measured with the old U-Net) are left out. Every minimum probability is kept
    and was chosen for the old U-Net, whose probabilities the classifiers read: choose them again
    (`deepmir calibrate`), and train the iron classifier again on the new U-Net's candidates
    (docs/experiments/2026-11-29-putamen-unet found that the old one keeps the new U-Net's
    calcification errors)."""
    import copy

    from .modelfile import LoadedModel, load_model, save_model

    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    unet = unet_model if isinstance(unet_model, LoadedModel) else load_model(unet_model)
    for field in ("architecture", "inputs", "task", "classes", "normalisation"):
        if getattr(unet.card, field) != getattr(loaded.card, field):
            raise InputError(unet.path, f"its U-Net's {field} differs from {loaded.path.name}'s: the classifiers were trained on that one's")
    card = copy.deepcopy(loaded.card)
    card.version = version or f"{card.version}+unet"
    card.training = {**copy.deepcopy(unet.card.training), "calibration": {
        **copy.deepcopy(loaded.card.training.get("calibration", {})),
        "note": f"the minimum probabilities of {loaded.card.name} {loaded.card.version}, chosen for its own U-Net: not chosen for this one"}}
    card.metrics = {}
    card.created = ""
    return save_model(unet.network, card, out, second_stage=loaded.second_stage_networks)


def write_model_copy(base: LoadedModel, card: ModelCard, classifier_files: list[Path] | None, out: Path | str) -> Path:
    """Write `card` at `out` as a model whose U-Net and int8 files are byte copies of `base`'s
    and whose second-stage classifiers are byte copies of `classifier_files` (in the card's
    order; None: `base`'s own; each checked against its section's sha256 after copying).
    Nothing is trained: the card, written last, names the copies. Returns its path, loaded
    once to check it."""
    import dataclasses
    import shutil

    from .atomic import atomic_write
    from .modelfile import int8_path, load_model, model_paths, second_stage_path, sha256_of, write_card

    if classifier_files is None:
        classifier_files = [base.path.parent / spec.weights_file for spec in base.card.second_stages]
    card_path, weights_path = model_paths(out)
    card.second_stages = tuple(dataclasses.replace(spec, weights_file=second_stage_path(card_path, index).name)
                               for index, spec in enumerate(card.second_stages))
    if card.int8 is not None:
        card.int8 = dataclasses.replace(card.int8, file=int8_path(card_path).name)
    card.created = ""
    card.validate(card_path)

    def copy_checked(source: Path, target: Path, sha256: str) -> None:
        atomic_write(target, lambda temporary: shutil.copyfile(source, temporary), suffix=target.suffix)
        if sha256_of(target) != sha256:
            raise InputError(source, "changed on disk while it was copied (its sha256 is no longer the card's)")

    copy_checked(model_paths(base.path)[1], weights_path, card.weights_sha256)
    if card.int8 is not None:
        copy_checked(base.int8_file, int8_path(card_path), card.int8.sha256)
    for index, (source, spec) in enumerate(zip(classifier_files, card.second_stages)):
        copy_checked(source, second_stage_path(card_path, index), spec.weights_sha256)
    write_card(card, card_path)
    load_model(card_path)
    return card_path


def second_opinion_model(model, minimums: dict[str, float], out: Path | str, version: str | None = None,
                         below_ms: float | None = None) -> Path:
    """A copy of `model` (two second-stage classifiers, each deciding its own classes) in which
    the classifier deciding each class of `minimums` also keeps, as that class, candidates it
    scores from that minimum up to its own where the other classifier keeps the same class
    (SecondStageSpec.second_opinion, pipeline.apply_second_opinions); with `below_ms`, only for
    SWIs whose echo time is not known to reach it. Nothing is trained or
    calibrated; every file but the card is `model`'s."""
    import copy
    import dataclasses

    from .modelfile import LoadedModel, ModelCard, load_model

    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    specs = list(loaded.card.second_stages)
    deciding = {key: [i for i, spec in enumerate(specs) if key in spec.decided_keys()] for key in minimums}
    if len(specs) != 2 or any(len(indices) != 1 for indices in deciding.values()):
        raise InputError(loaded.path, f"--second-opinion needs two second-stage classifiers, one deciding each of {sorted(minimums)}")
    for key, (index,) in deciding.items():
        opinion = {"from": 1 - index, "min_probability": {**(specs[index].second_opinion or {}).get("min_probability", {}), key: minimums[key]},
                   **({"below_ms": below_ms} if below_ms is not None else {})}
        specs[index] = dataclasses.replace(specs[index], second_opinion=check_second_opinion(opinion, "--second-opinion"))
    card = copy.deepcopy(loaded.card)
    card.second_stages = tuple(specs)
    card.version = version or f"{card.version}+second-opinion"
    card = ModelCard.from_dict(card.to_dict(), "--second-opinion")  # checked as a card read from disk is
    return write_model_copy(loaded, card, None, out)


def long_echo_model(model, cases, from_ms: float, keys: tuple[str, ...], out: Path | str, version: str | None = None, log=print) -> Path:
    """A copy of `model` in which each second-stage classifier deciding any of `keys` (class
    keys) gets, for those classes, a minimum probability for SWIs whose echo time is `from_ms`
    ms or longer (SecondStageSpec.long_echo), chosen on `cases` (participant folders or
    TrainingCase, none trained on, every one with a known echo time of at least `from_ms`, all
    checked before any U-Net runs) by the calibration's rule (`choose_min_probability`: the
    lowest with the highest pooled F1). Why: a classifier trained on short echoes scores the
    lesions of longer ones lower (docs/experiments/2026-11-28-long-echo-minimum). Nothing is
    trained; every other minimum and every file but the card are `model`'s."""
    import copy
    import dataclasses

    from .echotime import check_echo_time_ms
    from .modelfile import LoadedModel, load_model

    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    from_ms = check_echo_time_ms(from_ms, "--long-echo")
    chosen_indices = [index for index, spec in enumerate(loaded.card.second_stages) if set(keys) & set(spec.decided_keys())]
    if not keys or set(keys) - set(SECOND_STAGE_CLASSES[1:]) or not chosen_indices:
        raise InputError("--long-echo-classes", f"{list(keys)}: give class keys among {list(SECOND_STAGE_CLASSES[1:])} that a second-stage "
                                                f"classifier of model '{loaded.card.name}' decides")
    if any(loaded.card.second_stages[index].echo_times for index in chosen_indices):
        raise InputError(loaded.path, f"a classifier deciding {list(keys)} runs only for some echo times (echo_times): choose long-echo "
                                      "minimums before adding a classifier for long echo times")
    cases = [_training_case(c) for c in cases]
    if not cases:
        raise InputError("--calibrate", "no calibration participants")
    echo_times = [check_case_echo_time(case) for case in cases]
    for case, echo_time in zip(cases, echo_times):
        if echo_time < from_ms:
            raise InputError(case.inputs.swi, f"calibration case {case.case_id}: echo time {echo_time:g} ms is shorter than {from_ms:g} ms; "
                                              f"a long-echo calibration takes only SWIs of echo times from {from_ms:g} ms")
    rows = {index: [] for index in chosen_indices}
    for n, case in enumerate(cases):
        for index, row in score_classifiers(case, _permissive_unet(case, loaded, {}), loaded, chosen_indices).items():
            rows[index].append(row)
        log(f"long-echo calibration: {n + 1}/{len(cases)} participants")
    card = copy.deepcopy(loaded.card)
    specs = list(card.second_stages)
    for index in chosen_indices:
        spec = specs[index]
        decided = tuple(key for key in spec.decided_keys() if key in keys)
        choice = choose_min_probability(rows[index], spec, keys=decided)
        minimum = {key: choice["min_probability"][key] for key in decided}
        standard = cohort_figures(rows[index], "second", spec.min_probability, spec)
        at_chosen = cohort_figures(rows[index], "second", {**spec.min_probability, **minimum}, spec)
        log(f"classifier {index}: for echo times from {from_ms:g} ms, minimum {minimum}: "
            + "; ".join(f"{key} {standard[key]} at {spec.min_probability[key]:g}, {at_chosen[key]} at {minimum[key]:g}" for key in decided))
        specs[index] = dataclasses.replace(spec, long_echo={"from_ms": from_ms, "min_probability": minimum, "calibration": {
            "data": f"{len(cases)} participants, SWI echo times {min(echo_times):g}-{max(echo_times):g} ms: "
                    + ", ".join(c.case_id for c in cases),
            "rule": "per class, the lowest minimum probability with the highest F1 (pooled, centroid tolerances 3 and 5 voxels), "
                    "the rest of the classifier's decision rule unchanged",
            "figures": {"standard_minimum": {key: standard[key] for key in decided}, "long_echo_minimum": {key: at_chosen[key] for key in decided}},
            "tables": choice["tables"]}})
    card.second_stages = tuple(specs)
    card.version = version or card.version + "+long-echo"
    return write_model_copy(loaded, card, None, out)


def class_key_values(entries: list[str], option: str, value_name: str) -> dict[str, str]:
    """An option's KEY=VALUE entries as {class key: value}: each key a lesion class key (cmb,
    iron) given once, each value not empty; InputError naming `option` otherwise."""
    pairs = [entry.partition("=") for entry in entries]
    if any(key not in SECOND_STAGE_CLASSES[1:] or not value for key, _, value in pairs) or len({key for key, _, _ in pairs}) != len(pairs):
        raise InputError(option, f"takes KEY={value_name} once per class key ({', '.join(SECOND_STAGE_CLASSES[1:])}), not {entries}")
    return {key: value for key, _, value in pairs}


def main(argv=None) -> int:
    """python -m DeepMIRLib.secondstage --model default --train DIR --calibrate DIR --out MODEL.json
    (DIR: folders of `deepmir simulate` participants, or datastores: training.find_training_cases);
    python -m DeepMIRLib.secondstage --per-class cmb=MODEL iron=MODEL --out MODEL.json (per_class_model);
    python -m DeepMIRLib.secondstage --model MODEL --long-echo MS --long-echo-classifier iron=MODEL --out MODEL.json
    (per_echo_time_model); python -m DeepMIRLib.secondstage --model MODEL --unet TUNED --out MODEL.json (with_unet)"""
    import argparse

    parser = argparse.ArgumentParser(description="Train and calibrate a second stage for a DeepMIR model on simulated cohorts.")
    parser.add_argument("--model", default="default")
    parser.add_argument("--train", type=Path, help="folder of simulated participants (training)")
    parser.add_argument("--calibrate", type=Path, help="folder of simulated participants (calibration; never trained on)")
    parser.add_argument("--per-class", nargs="+", metavar="KEY=MODEL",
                        help="instead of training: a model whose second stage decides each class KEY (cmb, iron) with MODEL's "
                             "classifier (models sharing one U-Net, one classifier each; the first given wins where two claim a voxel)")
    parser.add_argument("--out", type=Path, required=True, help="the new model's card (.json)")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--version", default=None)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--extrema", nargs=2, type=float, metavar=("SWI_BELOW", "QSM_ABOVE"),
                        help="also propose the local SWI minima below SWI_BELOW SD beside a QSM maximum above QSM_ABOVE SD that the "
                             "U-Net does not propose (small microbleeds), in training, calibration and detection")
    parser.add_argument("--fine-tune", action="store_true", help="start from --model's own second stage instead of fresh weights")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--base", help="with --per-class: the model (same U-Net) whose U-Net and int8 files and card records the new "
                                       "model keeps (default: the first given)")
    parser.add_argument("--truth", choices=TRUTHS, default="centroid",
                        help="which training candidates are lesions: those whose centroid lies within the paper's tolerance of one "
                             "(centroid, the default), or only those of them that also touch it (touching)")
    parser.add_argument("--proposal", default=str(DEFAULT_PROPOSAL),
                        help="candidates where the U-Net's lesion probabilities sum to at least this (0-0.5], or 'argmax' for the "
                             f"components of its arg-max (default: {DEFAULT_PROPOSAL})")
    parser.add_argument("--echo-time", action="store_true",
                        help="the classifier also takes the SWI's echo time, from each participant's swi.json sidecar (EchoTime in "
                             "seconds: deepmir simulate writes one); detection then needs it too (a sidecar, or --swi-echo-time)")
    parser.add_argument("--long-echo", type=float, metavar="MS",
                        help="instead of training: choose, on the --calibrate participants (SWI echo times from MS ms, from their "
                             "sidecars), the minimum probabilities that --model's classifiers apply to SWIs of echo times from MS ms "
                             "(long_echo_model); the model is otherwise copied unchanged")
    parser.add_argument("--unet", metavar="MODEL",
                        help="instead of training: a copy of --model whose U-Net is MODEL's (same architecture and inputs, e.g. "
                             "deepmir train --fine-tune's), its minimum probabilities kept but not chosen for it: calibrate again (with_unet)")
    parser.add_argument("--long-echo-classifier", metavar="KEY=MODEL",
                        help="with --long-echo MS, instead of training: a copy of --model whose classifier deciding class KEY runs "
                             "only for SWI echo times below MS ms (or not known), and MODEL's classifier deciding KEY (same U-Net) "
                             "from MS ms (per_echo_time_model)")
    parser.add_argument("--long-echo-classes", nargs="+", choices=SECOND_STAGE_CLASSES[1:], default=list(SECOND_STAGE_CLASSES[1:]),
                        metavar="KEY", help="with --long-echo: the classes (cmb, iron) to choose a long-echo minimum for (default: both)")
    parser.add_argument("--second-opinion", nargs="+", metavar="KEY=P",
                        help="instead of training: a copy of --model (two classifiers) whose classifier deciding class KEY also keeps "
                             "candidates it scores from P up to its minimum where the other classifier keeps them as KEY "
                             "(second_opinion_model)")
    parser.add_argument("--second-opinion-below", type=float, metavar="MS",
                        help="with --second-opinion: take the opinion only for SWIs whose echo time (a sidecar beside the SWI, or "
                             "--swi-echo-time) is not known to be MS ms or longer")
    parser.add_argument("--suppression-spares", nargs="+", metavar="KEY=VOXELS",
                        help="with fresh weights: suppression spares candidates of class KEY (cmb, iron) of at least VOXELS voxels "
                             "(a second lesion beside a larger kept one), in calibration and detection")
    parser.add_argument("--contrast", nargs=2, metavar=("LOW", "HIGH"),
                        help="augment training patches' contrast: each image channel multiplied by a factor drawn from [LOW, HIGH] "
                             "(other protocols' z-scores are stretched or compressed)")
    args = parser.parse_args(argv)
    if args.unet:
        if args.train or args.calibrate or args.per_class or args.long_echo is not None or args.second_opinion:
            parser.error("--unet trains and calibrates nothing: give it with --model and --out only")
        try:
            print(f"model: {with_unet(args.model, args.unet, args.out, args.version)}")
        except InputError as error:
            parser.error(str(error))
        return 0
    if args.per_class:
        if args.train or args.calibrate:
            parser.error("--per-class trains nothing: give it without --train and --calibrate")
        try:
            deciders = class_key_values(args.per_class, "--per-class", "MODEL")
        except InputError as error:
            parser.error(str(error))
        print(f"model: {per_class_model(deciders, args.out, args.version, args.base)}")
        return 0
    if args.second_opinion_below is not None and not args.second_opinion:
        parser.error("--second-opinion-below goes with --second-opinion")
    if args.second_opinion:
        if args.train or args.calibrate or args.per_class or args.long_echo is not None:
            parser.error("--second-opinion trains and calibrates nothing: give it with --model and --out only")
        try:
            minimums = {key: options.probability(value, f"--second-opinion {key}")
                        for key, value in class_key_values(args.second_opinion, "--second-opinion", "P").items()}
            print(f"model: {second_opinion_model(args.model, minimums, args.out, args.version, args.second_opinion_below)}")
        except InputError as error:
            parser.error(str(error))
        return 0
    if args.long_echo_classifier:
        key, _, model = args.long_echo_classifier.partition("=")
        if args.long_echo is None or args.train or args.calibrate or not model:
            parser.error("--long-echo-classifier KEY=MODEL goes with --long-echo MS, --model and --out, without --train and --calibrate")
        try:
            print(f"model: {per_echo_time_model(args.model, key, model, args.long_echo, args.out, args.version)}")
        except InputError as error:
            parser.error(str(error))
        return 0
    if args.long_echo is not None:
        if args.train or not args.calibrate:
            parser.error("--long-echo trains nothing: give it with --calibrate and without --train")
        from .training import find_training_cases

        try:
            path = long_echo_model(args.model, find_training_cases(args.calibrate), args.long_echo, tuple(args.long_echo_classes), args.out,
                                   args.version)
        except InputError as error:
            parser.error(str(error))
        print(f"model: {path}")
        return 0
    if not args.train or not args.calibrate:
        parser.error("give --train and --calibrate (or --per-class, or --long-echo with --calibrate)")
    try:  # every option checked before the long work starts, and a wrong one said in a line, as argparse does
        proposal = None if args.proposal == "argmax" else check_proposal(args.proposal, "--proposal")
        extrema = check_extrema({"swi_below": args.extrema[0], "qsm_above": args.extrema[1]}, "--extrema") if args.extrema else None
        contrast = check_contrast(args.contrast, "--contrast") if args.contrast else None
        learning_rate = options.real_number(args.learning_rate, "--learning-rate", 0.0, 1.0, low_open=True)
        spares = None
        if args.suppression_spares:
            spares = check_spares_for_training(class_key_values(args.suppression_spares, "--suppression-spares", "VOXELS"),
                                               args.fine_tune, "--suppression-spares")
    except InputError as error:
        parser.error(str(error))
    if args.threads:
        torch.set_num_threads(args.threads)
    from .training import find_training_cases

    record = build_two_stage_model(args.model, find_training_cases(args.train), find_training_cases(args.calibrate), args.out,
                                   width=args.width, epochs=args.epochs, proposal=proposal, version=args.version, seed=args.seed,
                                   extrema=extrema, fine_tune=args.fine_tune, truth=args.truth, contrast=contrast, echo_time=args.echo_time,
                                   learning_rate=learning_rate, suppression_spares=spares)
    print({k: v for k, v in record.items() if k != "calibration"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
