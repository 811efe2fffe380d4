"""The second stage's candidates and decisions, without torch.

Everything the second stage (`secondstage`) does to a participant except running its
classifier: the U-Net's proposals (`proposal_labels`) and, with the card's `extrema`, the small
microbleeds it does not propose (`extremum_proposals`; both in `second_stage_proposals`), their
components with centroids and features (`extract_candidates`), the patches around them
(`patches_for`), the classifier's probabilities turned into decisions (`decide`, `suppress`)
and the label map those give (`relabel`; all of it in `apply_second_stage`). The classifier is
a `Classifier`, a function from a batch of patches and features to probabilities: the PyTorch
CandidateNet (`secondstage.torch_classifier`) or its ONNX export (`onnxrt.second_stage_for`), so
a detection on ONNX Runtime runs the second stage without importing torch. `secondstage`,
which defines the network and trains it, re-exports what is defined here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from .classes import CMB
from .echotime import MISSING_ECHO_TIME
from .errors import InputError
from .inference import class_argmax
from .lesions import label_components
from .secondstagespec import DEFAULT_PATCH, ECHO_TIME_SCALE_MS, FEATURE_NAMES, N_FEATURES, SECOND_STAGE_CLASSES, SecondStageSpec

if TYPE_CHECKING:
    from .secondstage import CandidateNet

# a batch of patches (n, C + 1, *patch) and features (n, N_FEATURES), float32 -> probabilities
# (n, 3) over SECOND_STAGE_CLASSES
Classifier = Callable[[np.ndarray, np.ndarray], np.ndarray]
# the patch axes `classify(average_flips=True)` flips, each set once: none, left-right (x),
# front-back (y), both; the classifier's training augments with the same flips
PATCH_FLIPS = ((), (-1,), (-2,), (-1, -2))


@dataclass
class Candidates:
    """The U-Net's lesion components on the canonical grid: `components` numbers them 1..n
    (per class, renumbered jointly), `label[k]` is the U-Net's class of component k + 1."""

    components: np.ndarray
    label: np.ndarray  # (n,) U-Net label value (1 CMB, 2 iron)
    centroid: np.ndarray  # (n, 3) z, y, x
    features: np.ndarray  # (n, N_FEATURES)

    def __len__(self) -> int:
        return len(self.label)


@dataclass
class CandidateFootprint:
    """The candidates without their label map, for counting the lesions of many sets of
    decisions (a calibration keeps one per participant; the map is a full-size volume): each
    candidate's voxel count and sum of voxel indices, and the pairs of candidates that touch
    (26-connected), which become one lesion where both get the same label. `suppress` takes
    it as it takes Candidates."""

    label: np.ndarray  # (n,) U-Net label value (1 CMB, 2 iron)
    centroid: np.ndarray  # (n, 3) z, y, x
    features: np.ndarray  # (n, N_FEATURES)
    size: np.ndarray  # (n,) voxels
    index_sum: np.ndarray  # (n, 3) int64: the sum of the candidate's (z, y, x) voxel indices
    touching: np.ndarray  # (m, 2) 0-based candidate indices, each pair once

    def __len__(self) -> int:
        return len(self.label)

    @classmethod
    def of(cls, candidates: Candidates) -> CandidateFootprint:
        components = candidates.components
        voxels = np.nonzero(components)
        owner = components[voxels]
        n = len(candidates)
        size = np.bincount(owner, minlength=n + 1)[1:]
        index_sum = np.stack([np.bincount(owner, weights=axis, minlength=n + 1)[1:] for axis in voxels], axis=1).astype(np.int64)
        pairs = []
        for offset in _box_offsets((3, 3, 3)):
            neighbour = components[tuple(np.clip(axis + step, 0, side - 1) for axis, step, side in zip(voxels, offset, components.shape))]
            differ = (neighbour > 0) & (neighbour != owner)
            pairs.append(np.sort(np.stack([owner[differ], neighbour[differ]], axis=1), axis=1))
        touching = np.unique(np.concatenate(pairs), axis=0).reshape(-1, 2) - 1
        return cls(candidates.label, candidates.centroid, candidates.features, size, index_sum, touching)

    def lesion_centroids(self, decisions: np.ndarray) -> dict[int, np.ndarray]:
        """Per label value (1, 2): the (n, 3) centroids of the 26-connected components of that
        value in `relabel(candidates, decisions)` (in another order), without the map: the
        touching candidates given one label are one component, its centroid the mean of
        their voxels."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        centroids = {}
        for value in (1, 2):
            members = np.flatnonzero(decisions == value)
            if not len(members):
                centroids[value] = np.zeros((0, 3))
                continue
            both_members = np.isin(self.touching, members).all(axis=1)
            edges = np.searchsorted(members, self.touching[both_members])  # positions in members (sorted)
            graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(len(members),) * 2)
            count, component = connected_components(graph, directed=False)
            sums = np.stack([np.bincount(component, weights=self.index_sum[members, axis], minlength=count) for axis in range(3)], axis=1)
            centroids[value] = sums / np.bincount(component, weights=self.size[members], minlength=count)[:, None]
        return centroids


def proposal_labels(canonical_labels: np.ndarray, canonical_probabilities: np.ndarray, class_labels: list[int] | tuple[int, ...],
                    proposal: float | None) -> np.ndarray:
    """The label map whose components are the candidates: the U-Net's arg-max labels, or with
    `proposal` the voxels where the lesion classes' probabilities (K, Z, Y, X) sum to at least
    it, each of its likelier lesion class."""
    if proposal is None:
        return canonical_labels
    values = np.asarray(class_labels, dtype=np.uint8)
    return np.where(canonical_probabilities.sum(axis=0) >= proposal, values[class_argmax(canonical_probabilities)[0]], 0).astype(np.uint8)


SWI_MINIMUM_WINDOW = (1, 5, 5)  # canonical (z, y, x): a voxel darkest in its in-plane 5 x 5 neighbourhood
QSM_MAXIMUM_WINDOW = (3, 3, 3)  # ... with a paramagnetic QSM maximum in its 3 x 3 x 3 neighbourhood
EXTREMUM_CLEARANCE = 2  # voxels (city-block) from every U-Net proposal


def extremum_proposals(proposals: np.ndarray, stack: np.ndarray, inputs: list[str] | tuple[str, ...], extrema: dict | None) -> np.ndarray:
    """`proposals` (a canonical label map) with microbleed candidates (label CMB) added where
    the U-Net proposes nothing within EXTREMUM_CLEARANCE voxels but the normalised images
    (`stack`, (C, Z, Y, X) in the order of `inputs`, zero outside the brain) look like one: SWI
    the minimum of its in-plane neighbourhood and below `extrema["swi_below"]` SD, QSM above
    `extrema["qsm_above"]` SD within QSM_MAXIMUM_WINDOW. These are the 1-2 voxel microbleeds a
    2-D U-Net half sees (docs/experiments/2026-11-26-extremum-proposals); the second stage
    decides them like any other candidate. Without `extrema`, `proposals` unchanged.

    Only the voxels below the SWI threshold (a small tail of the brain) are looked at, each
    against its own neighbourhood (`_window_extreme`): the same voxels as minimum and maximum
    filters and a dilation of the whole volume would give, in a tenth of the time."""
    if not extrema:
        return proposals
    swi, qsm = stack[list(inputs).index("swi")], stack[list(inputs).index("qsm")]
    voxels = np.nonzero((swi < extrema["swi_below"]) & np.any(stack != 0, axis=0))
    darkest = swi[voxels] <= _window_extreme(swi, voxels, _box_offsets(SWI_MINIMUM_WINDOW), np.minimum)
    beside_maximum = _window_extreme(qsm, voxels, _box_offsets(QSM_MAXIMUM_WINDOW), np.maximum) > extrema["qsm_above"]
    found = darkest & beside_maximum
    if proposals.any():
        found &= _window_extreme(proposals > 0, voxels, _city_block_offsets(EXTREMUM_CLEARANCE), np.maximum) == 0
    combined = proposals.copy()
    combined[tuple(axis[found] for axis in voxels)] = CMB
    return combined


def _box_offsets(window: tuple[int, int, int]) -> np.ndarray:
    """(n, 3) offsets of a centred box of odd sides `window`."""
    return np.stack(np.meshgrid(*[np.arange(-(side // 2), side // 2 + 1) for side in window], indexing="ij"), -1).reshape(-1, 3)


def _city_block_offsets(radius: int) -> np.ndarray:
    """(n, 3) offsets within city-block distance `radius`: what `radius` dilations by the
    6-connected cross reach."""
    box = _box_offsets((2 * radius + 1,) * 3)
    return box[np.abs(box).sum(axis=1) <= radius]


def _window_extreme(volume: np.ndarray, voxels: tuple[np.ndarray, ...], offsets: np.ndarray, extreme) -> np.ndarray:
    """`extreme` (np.minimum or np.maximum) of `volume` over `offsets` around each of `voxels`
    (index arrays), the window cut at the volume's faces: what ndimage's minimum and maximum
    filters (mode 'reflect') and a binary dilation (border 0) give there. An offset that
    leaves the volume is clamped to the face, which lands inside the window or ball, so it
    changes no extreme."""
    shape = np.array(volume.shape)
    result = None
    for offset in offsets:
        index = tuple(np.clip(axis + step, 0, size - 1) for axis, step, size in zip(voxels, offset, shape))
        values = volume[index]
        result = values if result is None else extreme(result, values)
    return result


def second_stage_proposals(spec: SecondStageSpec, canonical_labels: np.ndarray, canonical_probabilities: np.ndarray,
                           class_labels: list[int] | tuple[int, ...], stack: np.ndarray, inputs: list[str] | tuple[str, ...]) -> np.ndarray:
    """The label map whose components are the second stage's candidates, as the card's section
    `spec` asks: the U-Net's proposals (`proposal_labels` with `spec.proposal`) and, with
    `spec.extrema`, the microbleeds it does not propose (`extremum_proposals`). Detection,
    calibration and the checks of a cohort all take their candidates from here."""
    proposals = proposal_labels(canonical_labels, canonical_probabilities, class_labels, spec.proposal)
    return extremum_proposals(proposals, stack, inputs, spec.extrema)


def extract_candidates(canonical_labels: np.ndarray, canonical_probabilities: np.ndarray,
                       class_labels: list[int] | tuple[int, ...] = (1, 2)) -> Candidates:
    """Every 26-connected component of each lesion class of the U-Net's label map, with its
    centroid and features (`FEATURE_NAMES`); each component is measured in its bounding box."""
    components = np.zeros(canonical_labels.shape, dtype=np.int32)
    labels, rows, count = [], [], 0
    for value in class_labels:
        labelled, n = label_components(canonical_labels == value)
        if not n:
            continue
        components[labelled > 0] = labelled[labelled > 0] + count
        for k, box in enumerate(ndimage.find_objects(labelled)):
            local = labelled[box] == k + 1
            voxels = np.argwhere(local)
            centre = voxels.mean(axis=0) + [b.start for b in box]
            p = [float(canonical_probabilities[c][box][local].max()) if c < len(canonical_probabilities) else 0.0 for c in (0, 1)]
            rows.append((centre, len(voxels), box[0].stop - box[0].start, p))
        count += n
        labels += [value] * n
    if not count:
        return Candidates(components, np.zeros(0, int), np.zeros((0, 3)), np.zeros((0, N_FEATURES), np.float32))
    labels = np.asarray(labels, dtype=int)
    centroid = np.array([r[0] for r in rows], dtype=float).reshape(-1, 3)
    features = np.array([[np.log1p(size), extent / 4.0, p[0], p[1], float(label == 1), float(label == 2)]
                         for (_, size, extent, p), label in zip(rows, labels)], dtype=np.float32)
    return Candidates(components, labels, centroid, features)


def classifier_features(features: np.ndarray, echo_time: bool, swi_echo_time_ms: float | None, source: object = "second stage") -> np.ndarray:
    """The features a classifier takes: the candidates' (FEATURE_NAMES), and with `echo_time`
    (its card's `uses_echo_time`) a last column of the SWI's echo time over ECHO_TIME_SCALE_MS;
    InputError naming `source` when that is needed and unknown."""
    if not echo_time:
        return features
    if swi_echo_time_ms is None:
        raise InputError(source, MISSING_ECHO_TIME)
    return np.concatenate([features, np.full((len(features), 1), swi_echo_time_ms / ECHO_TIME_SCALE_MS, np.float32)], axis=1)


def patches_for(stack: np.ndarray, candidates: Candidates, patch: tuple[int, int, int] = DEFAULT_PATCH,
                centres: np.ndarray | None = None) -> np.ndarray:
    """(n, C + 1, *patch) float32: the normalised modalities (`stack`, (C, Z, Y, X)) and the
    candidate's own voxels around each centroid (or `centres`), zero outside the image."""
    centres = candidates.centroid if centres is None else centres
    n = len(centres)
    out = np.zeros((n, stack.shape[0] + 1, *patch), dtype=np.float32)
    shape = np.array(stack.shape[1:])
    half = np.array(patch) // 2
    for i, centre in enumerate(centres):
        start = np.rint(centre).astype(int) - half
        stop = start + np.array(patch)
        lo, hi = np.maximum(start, 0), np.minimum(stop, shape)
        if np.any(hi <= lo):
            continue
        src = tuple(slice(a, b) for a, b in zip(lo, hi))
        dst = tuple(slice(a - s, b - s) for a, b, s in zip(lo, hi, start))
        out[(i, slice(0, stack.shape[0]), *dst)] = stack[(slice(None), *src)]
        if i < len(candidates):
            out[(i, stack.shape[0], *dst)] = candidates.components[src] == i + 1
    return out


def as_classifier(classifier: Classifier | CandidateNet) -> Classifier:
    """`classifier` as a Classifier: itself, or for a PyTorch CandidateNet
    `secondstage.torch_classifier` of it (torch is imported already where one exists)."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(classifier, torch.nn.Module):
        from .secondstage import torch_classifier

        return torch_classifier(classifier)
    return classifier


def classify(classifier: Classifier | CandidateNet, patches: np.ndarray, features: np.ndarray, batch_size: int = 64,
             average_flips: bool = False) -> np.ndarray:
    """(n, 3) softmax probabilities over SECOND_STAGE_CLASSES, `batch_size` candidates at a
    time; `classifier`: a Classifier (onnxrt.second_stage_for) or the PyTorch CandidateNet.
    With `average_flips`, the mean over the patches and their flips along PATCH_FLIPS."""
    if not len(patches):
        return np.zeros((0, len(SECOND_STAGE_CLASSES)), dtype=np.float32)
    run = as_classifier(classifier)
    scores = []
    for axes in PATCH_FLIPS if average_flips else ((),):
        view = np.ascontiguousarray(np.flip(patches, axes))  # one flipped copy at a time; no copy for ()
        scores.append(np.concatenate([run(view[start:start + batch_size], features[start:start + batch_size])
                                      for start in range(0, len(view), batch_size)]))
    return np.mean(scores, axis=0).astype(np.float32)


def likelier_lesion_class(scores: np.ndarray) -> np.ndarray:
    """(n,) the label value of each candidate's likelier lesion class: 1 CMB (also on a tie) or 2 iron."""
    return np.where(scores[:, 1] >= scores[:, 2], 1, 2) if len(scores) else np.zeros(0, dtype=np.int64)


def decide(scores: np.ndarray, min_probability: dict[str, float]) -> np.ndarray:
    """The label value each candidate gets: 1 CMB or 2 iron where that (the likelier of the
    two: likelier_lesion_class) reaches its minimum probability, 0 (removed) otherwise."""
    if not len(scores):
        return np.zeros(0, dtype=np.uint8)
    lesion = likelier_lesion_class(scores)
    probability = np.where(lesion == 1, scores[:, 1], scores[:, 2])
    threshold = np.where(lesion == 1, min_probability["cmb"], min_probability["iron"])
    return np.where(probability >= threshold, lesion, 0).astype(np.uint8)


def keep_unet_lesions(candidates: Candidates | CandidateFootprint, scores: np.ndarray, decisions: np.ndarray,
                      keep_unet: dict | None, decided_keys: tuple[str, ...]) -> np.ndarray:
    """`decisions` with each candidate of a decided class that the U-Net is sure of kept as
    the U-Net's class where the classifier takes it for a lesion of either class: the U-Net's
    highest probability of its class inside reaches `keep_unet["unet_probability"]` and the
    classifier's probability of a lesion (1 - 'neither') `keep_unet["lesion_probability"]`.
    Why: on a protocol it never saw, the iron classifier can waver between microbleed and iron
    over deposits the U-Net is certain of (docs/experiments/2026-11-26-larger-heldout)."""
    if not keep_unet or not len(decisions):
        return decisions
    decisions = decisions.copy()
    lesion = 1.0 - scores[:, 0]
    for key in decided_keys:
        value = SECOND_STAGE_CLASSES.index(key)
        sure = candidates.features[:, FEATURE_NAMES.index(f"max_p_{key}")] >= keep_unet["unet_probability"]
        decisions[(candidates.label == value) & sure & (lesion >= keep_unet["lesion_probability"])] = value
    return decisions


def decide_candidates(candidates: Candidates | CandidateFootprint, scores: np.ndarray, spec: SecondStageSpec,
                      min_probability: dict[str, float] | None = None) -> np.ndarray:
    """The label value each candidate keeps under the card's section `spec`: `decide` at
    `min_probability` (the section's when not given), `keep_unet_lesions`, then `suppress`."""
    decisions = decide(scores, min_probability or spec.min_probability)
    decisions = keep_unet_lesions(candidates, scores, decisions, spec.keep_unet, spec.decided_keys())
    return suppress(candidates, decisions, spec.suppression, spec.suppression_spares)


def suppress(candidates: Candidates | CandidateFootprint, decisions: np.ndarray, distance: dict[str, float],
             spares: dict[str, int] | None = None) -> np.ndarray:
    """`decisions` without the kept candidates whose centroid lies within `distance[class
    key]` voxels of a larger kept candidate of the same class (the pieces of one lesion, which
    the paper's one-to-one centroid matching counts as false positives), except those of at
    least `spares[class key]` voxels (a second lesion beside the first)."""
    decisions = decisions.copy()
    log_voxels = candidates.features[:, FEATURE_NAMES.index("log_voxels")].astype(np.float64) if len(candidates) else np.zeros(0)
    voxels = np.rint(np.expm1(log_voxels))
    for value, key in ((1, "cmb"), (2, "iron")):
        if not distance.get(key):
            continue
        smallest_spared = (spares or {}).get(key, np.inf)
        kept = []
        for k in sorted(np.flatnonzero(decisions == value), key=lambda k: -voxels[k]):
            near = any(np.linalg.norm(candidates.centroid[k] - candidates.centroid[j]) <= distance[key] for j in kept)
            if near and voxels[k] < smallest_spared:
                decisions[k] = 0
            else:
                kept.append(k)
    return decisions


def relabel(candidates: Candidates, decisions: np.ndarray) -> np.ndarray:
    """The canonical label map (uint8) in which each candidate's voxels carry its decision."""
    lookup = np.concatenate([[0], decisions]).astype(np.uint8)
    return lookup[candidates.components]


def decided_probabilities(scores: np.ndarray, decisions: np.ndarray) -> np.ndarray:
    """(n,) the classifier's probability of the class each candidate was given (scores'
    column 1 for a microbleed, 2 for an iron deposit), NaN for a removed candidate. A candidate
    kept by `keep_unet_lesions` gets the probability of the U-Net's class, however low."""
    probabilities = np.full(len(decisions), np.nan, dtype=np.float32)
    kept = decisions > 0
    probabilities[kept] = np.asarray(scores)[np.flatnonzero(kept), decisions[kept].astype(int)]
    return probabilities


def probability_map(candidates: Candidates, probabilities: np.ndarray) -> np.ndarray:
    """The canonical map (float32) in which each candidate's voxels carry its probability
    (`decided_probabilities`); NaN outside the candidates."""
    lookup = np.concatenate([[np.nan], probabilities]).astype(np.float32)
    return lookup[candidates.components]


def apply_second_stage(classifier: Classifier | CandidateNet, spec: SecondStageSpec, stack: np.ndarray, canonical_labels: np.ndarray,
                       canonical_probabilities: np.ndarray, class_labels: list[int] | tuple[int, ...] = (1, 2),
                       min_probability: dict[str, float] | None = None,
                       swi_echo_time_ms: float | None = None) -> tuple[np.ndarray, tuple[Candidates, np.ndarray, np.ndarray]]:
    """The canonical label map after the second stage, and (candidates, scores, decisions);
    `classifier` as for `classify`; `swi_echo_time_ms` for a classifier that takes it
    (`classifier_features`)."""
    candidates = extract_candidates(canonical_labels, canonical_probabilities, class_labels)
    features = classifier_features(candidates.features, spec.uses_echo_time, swi_echo_time_ms)
    scores = classify(classifier, patches_for(stack, candidates, spec.patch), features, average_flips=spec.average_flips)
    decisions = decide_candidates(candidates, scores, spec, min_probability)
    return relabel(candidates, decisions), (candidates, scores, decisions)
