"""The second stage's section of a model card (`SecondStageSpec`), without torch.

`modelfile` reads and checks a card, and the second stage's weights against it, before any
network is built, and a detection on ONNX Runtime with its exports cached builds none: so
the card's section and the names and shapes of the classifier's tensors are here, where
reading them needs no torch. The classifier itself (`CandidateNet`) and its training are in
`secondstage`, which re-exports what is defined here; the candidates and decisions around
it, without torch, in `candidates`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from . import options
from .echotime import ECHO_TIME_RANGE_MS, known_to_reach
from .errors import InputError

if TYPE_CHECKING:
    from .secondstage import CandidateNet

SECOND_STAGE_CLASSES = ("neither", "cmb", "iron")  # classifier outputs, in this order
DEFAULT_PATCH = (9, 20, 20)  # canonical (z, y, x) voxels: 13.5 x 20 x 20 mm at 1 x 1 x 1.5 mm
N_FEATURES = 6
FEATURE_NAMES = ("log_voxels", "z_extent", "max_p_cmb", "max_p_iron", "unet_cmb", "unet_iron")
# an optional last feature: the SWI's echo time over ECHO_TIME_SCALE_MS, the same for every
# candidate of a participant (echotime; a card lists it when its classifier was trained with it)
ECHO_TIME_FEATURE = "swi_echo_time"
ECHO_TIME_SCALE_MS = 20.0
MAX_PATCH = 64
MAX_WIDTH = 64


@dataclass(frozen=True)
class SecondStageSpec:
    """The card's `second_stage` section."""

    architecture: str  # "cnn3d"
    width: int
    in_channels: int  # modalities + 1 (the candidate's own voxels)
    patch: tuple[int, int, int]
    classes: tuple[str, ...] = SECOND_STAGE_CLASSES
    features: tuple[str, ...] = FEATURE_NAMES
    # minimum classifier probability per lesion class key, chosen on a cohort it never trained on
    min_probability: dict = field(default_factory=lambda: {"cmb": 0.5, "iron": 0.5})
    weights_file: str = ""
    weights_sha256: str = ""
    training: dict = field(default_factory=dict)
    calibration: dict = field(default_factory=dict)
    # per class key: a kept candidate whose centroid lies within this many voxels of a larger
    # kept candidate of the same class is removed (pieces of one lesion); none when absent
    suppression: dict = field(default_factory=dict)
    # candidates are the components where the U-Net's lesion probabilities sum to at least
    # this (more than its arg-max proposes: small lesions it half sees); None: the arg-max's
    proposal: float | None = None
    # the lesion class keys whose lesions the second stage decides; the others come from the
    # U-Net alone (pipeline.combine_stages). None: every class (cards written before the field)
    decides: tuple[str, ...] | None = None
    # with {"swi_below": SD, "qsm_above": SD}, also the local SWI minima with a QSM maximum that
    # the U-Net does not propose, as microbleed candidates (candidates.extremum_proposals)
    extrema: dict | None = None
    # with {"unet_probability": p, "lesion_probability": q}: a candidate of a class this stage
    # decides that the U-Net labels that class, with its highest probability of the class inside
    # at least p, is kept as that class wherever the classifier's probability of a lesion
    # (1 - 'neither') is at least q, whichever lesion class the classifier prefers
    # (candidates.keep_unet_lesions); None: the classifier alone decides
    keep_unet: dict | None = None
    # per class key: a kept candidate of at least this many voxels is never suppressed, since
    # pieces of one lesion are small and a second lesion beside a larger one is not
    # (docs/experiments/2026-11-27-iron-size-rule); None: every one within the distance is
    suppression_spares: dict | None = None
    # True: the classifier's probabilities are the mean over the patch and its left-right,
    # front-back and both-ways flips, flips its training augmented with (candidates.classify);
    # False: the patch alone
    average_flips: bool = False
    # {"from_ms": T, "min_probability": {class key: p}, "calibration": record}: for an SWI whose
    # echo time is T ms or longer, these minimum probabilities replace `min_probability`'s for
    # those classes (longer echoes than the classifier trained on shift its scores:
    # docs/experiments/2026-11-28-long-echo-minimum); None: one minimum for every echo time
    long_echo: dict | None = None
    # {"from": i, "min_probability": {class key: p}}: a candidate whose likelier lesion class is
    # one this stage decides, at a probability below `min_probability`'s but at least p, is kept
    # as that class where the card's classifier i (another, 0-based) labels any of its voxels
    # that class at its own minimum (pipeline.apply_second_opinions); with "below_ms": T, only
    # for an SWI whose echo time is not known to be T ms or longer. Why: 0.5.4's iron
    # classifier gave 0.7-0.9 to deposits that its microbleed classifier calls iron at 0.97 or
    # more (docs/experiments/2026-11-28-classifier-conflicts); None: this classifier alone decides
    second_opinion: dict | None = None
    # {"below_ms": T}: this classifier runs only for an SWI whose echo time is not known to be
    # T ms or longer; {"from_ms": T}: only for one known to be T ms or longer. A card lists such
    # a pair for a class (ModelCard.validate), so that each echo time has one classifier for it.
    # Why: a classifier fine-tuned on iron-rich slabs found more deposits at nominal echo times
    # but kept false ones at long ones (docs/experiments/2026-11-29-per-echo-classifier);
    # None: it runs at every echo time
    echo_times: dict | None = None

    @property
    def uses_echo_time(self) -> bool:
        """Whether the classifier is told the SWI's echo time (its last feature)."""
        return ECHO_TIME_FEATURE in self.features

    def min_probability_for(self, swi_echo_time_ms: float | None) -> dict:
        """The minimum probability per class key for an SWI of this echo time (ms; None: not
        known, and so the standard one): `long_echo`'s where it applies."""
        if self.long_echo is None or not known_to_reach(swi_echo_time_ms, self.long_echo["from_ms"]):
            return dict(self.min_probability)
        return {**self.min_probability, **self.long_echo["min_probability"]}

    @property
    def second_opinion_below_ms(self) -> float | None:
        """The echo time (ms) from which `second_opinion` is not taken; None: taken at every one (or none given)."""
        return (self.second_opinion or {}).get("below_ms")

    def takes_second_opinion(self, swi_echo_time_ms: float | None) -> bool:
        """Whether `second_opinion` applies to an SWI of this echo time (ms; None: not known)."""
        below = self.second_opinion_below_ms
        return bool(self.second_opinion) and (below is None or not known_to_reach(swi_echo_time_ms, below))

    def applies_to(self, swi_echo_time_ms: float | None) -> bool:
        """Whether this classifier runs for an SWI of this echo time (ms; None: not known, and
        so the one for short echo times): `echo_times`."""
        if self.echo_times is None:
            return True
        if "below_ms" in self.echo_times:
            return not known_to_reach(swi_echo_time_ms, self.echo_times["below_ms"])
        return known_to_reach(swi_echo_time_ms, self.echo_times["from_ms"])

    def echo_times_text(self) -> str:
        """`echo_times` as a reader sees it ('for SWI echo times below 15 ms or not known'); '' without it."""
        if self.echo_times is None:
            return ""
        if "below_ms" in self.echo_times:
            return f"for SWI echo times below {self.echo_times['below_ms']:g} ms or not known"
        return f"for SWI echo times from {self.echo_times['from_ms']:g} ms"

    def long_echo_minimum_text(self) -> str:
        """The long-echo minimums as a reader sees them ('cmb 0.75'); '' without `long_echo`."""
        return ", ".join(f"{key} {value:g}" for key, value in self.long_echo["min_probability"].items()) if self.long_echo else ""

    def decided_keys(self) -> tuple[str, ...]:
        """The lesion class keys this stage decides (all of them when the card does not say)."""
        return self.decides if self.decides is not None else SECOND_STAGE_CLASSES[1:]

    def to_dict(self) -> dict:
        data = asdict(self)
        data["patch"] = list(self.patch)
        data["classes"] = list(self.classes)
        data["features"] = list(self.features)
        for name in ("proposal", "decides", "extrema", "keep_unet", "suppression_spares", "long_echo", "second_opinion", "echo_times"):
            if data[name] is None:  # cards written before the field read and write as before
                del data[name]
        if self.decides is not None:
            data["decides"] = list(self.decides)
        if not self.average_flips:
            del data["average_flips"]
        return data

    @classmethod
    def from_dict(cls, data: object, source: object = None, n_inputs: int | None = None) -> SecondStageSpec:
        """The section, checked field by field."""
        if not isinstance(data, dict):
            raise InputError(source, f"model card second_stage must be an object, not {type(data).__name__}")
        known = set(cls.__dataclass_fields__)
        if not set(data) <= known or not {"architecture", "width", "in_channels", "patch"} <= set(data):
            raise InputError(source, f"model card second_stage must give architecture, width, in_channels and patch "
                                     f"(optionally {', '.join(sorted(known - {'architecture', 'width', 'in_channels', 'patch'}))}); "
                                     f"it has {sorted(data)}")
        if data["architecture"] != "cnn3d":
            raise InputError(source, f"model card second_stage: unknown architecture {data['architecture']!r}")
        for name, high in (("width", MAX_WIDTH), ("in_channels", 8)):
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
                raise InputError(source, f"model card second_stage: {name} {value!r} is not a whole number from 1 to {high}")
        if n_inputs is not None and data["in_channels"] != n_inputs + 1:
            raise InputError(source, f"model card second_stage: in_channels {data['in_channels']} is not the card's "
                                     f"{n_inputs} inputs plus the candidate channel")
        patch = data["patch"]
        if (not isinstance(patch, list) or len(patch) != 3
                or not all(isinstance(v, int) and not isinstance(v, bool) and 4 <= v <= MAX_PATCH for v in patch)):
            raise InputError(source, f"model card second_stage: patch {patch!r} is not three whole numbers from 4 to {MAX_PATCH}")
        classes = tuple(data.get("classes", SECOND_STAGE_CLASSES))
        if classes != SECOND_STAGE_CLASSES:
            raise InputError(source, f"model card second_stage: classes {list(classes)} are not {list(SECOND_STAGE_CLASSES)}")
        features = tuple(data.get("features", FEATURE_NAMES))
        if features not in (FEATURE_NAMES, (*FEATURE_NAMES, ECHO_TIME_FEATURE)):
            raise InputError(source, f"model card second_stage: features {list(features)} are not {list(FEATURE_NAMES)}, "
                                     f"optionally followed by {ECHO_TIME_FEATURE!r}")
        minimum = data.get("min_probability", {"cmb": 0.5, "iron": 0.5})
        if not isinstance(minimum, dict) or set(minimum) != {"cmb", "iron"}:
            raise InputError(source, f"model card second_stage: min_probability {minimum!r} must give 'cmb' and 'iron'")
        for key, value in minimum.items():
            options.probability(value, f"{source}: second_stage min_probability {key}")
        for name in ("weights_file", "weights_sha256"):
            if not isinstance(data.get(name, ""), str):
                raise InputError(source, f"model card second_stage: {name} must be a string")
        if data.get("weights_sha256") and not re.fullmatch(r"[0-9a-f]{64}", data["weights_sha256"]):
            raise InputError(source, f"model card second_stage: weights_sha256 {data['weights_sha256']!r} is not a sha256")
        for name in ("training", "calibration", "suppression"):
            if not isinstance(data.get(name, {}), dict):
                raise InputError(source, f"model card second_stage: {name} must be an object")
        suppression = data.get("suppression", {})
        if set(suppression) - {"cmb", "iron"}:
            raise InputError(source, f"model card second_stage: suppression {suppression!r} may give only 'cmb' and 'iron'")
        for key, value in suppression.items():
            options.real_number(value, f"{source}: second_stage suppression {key}", 0.0, 64.0)
        proposal = data.get("proposal")
        if proposal is not None:
            proposal = check_proposal(proposal, f"{source}: second_stage proposal")
        decides = data.get("decides")
        if decides is not None:
            decides = check_decides(decides, f"{source}: second_stage decides")
        extrema = data.get("extrema")
        if extrema is not None:
            extrema = check_extrema(extrema, f"{source}: second_stage extrema")
        keep_unet = data.get("keep_unet")
        if keep_unet is not None:
            keep_unet = check_keep_unet(keep_unet, f"{source}: second_stage keep_unet")
        spares = data.get("suppression_spares")
        if spares is not None:
            spares = check_suppression_spares(spares, f"{source}: second_stage suppression_spares")
        average_flips = data.get("average_flips", False)
        if not isinstance(average_flips, bool):
            raise InputError(source, f"model card second_stage: average_flips {average_flips!r} is not true or false")
        long_echo = data.get("long_echo")
        if long_echo is not None:
            long_echo = check_long_echo(long_echo, f"{source}: second_stage long_echo")
            if decides is not None and set(long_echo["min_probability"]) - set(decides):
                raise InputError(source, f"model card second_stage: long_echo gives a minimum for {sorted(long_echo['min_probability'])}, "
                                         f"but this classifier decides only {list(decides)}")
        second_opinion = data.get("second_opinion")
        if second_opinion is not None:
            second_opinion = check_second_opinion(second_opinion, f"{source}: second_stage second_opinion")
            keys = decides if decides is not None else SECOND_STAGE_CLASSES[1:]
            for key, value in second_opinion["min_probability"].items():
                if key not in keys or value >= minimum[key]:
                    raise InputError(source, f"model card second_stage: second_opinion's minimum {key} {value:g} must be for a class "
                                             f"this classifier decides ({list(keys)}) and below its own minimum ({minimum.get(key)})")
        echo_times = data.get("echo_times")
        if echo_times is not None:
            echo_times = check_echo_times(echo_times, f"{source}: second_stage echo_times")
            if long_echo is not None and "below_ms" in echo_times and long_echo["from_ms"] >= echo_times["below_ms"]:
                raise InputError(source, f"model card second_stage: long_echo from {long_echo['from_ms']:g} ms never applies to a "
                                         f"classifier that runs only below {echo_times['below_ms']:g} ms")
        return cls(data["architecture"], data["width"], data["in_channels"], tuple(patch), classes, features,
                   {k: float(v) for k, v in minimum.items()}, data.get("weights_file", ""), data.get("weights_sha256", ""),
                   dict(data.get("training", {})), dict(data.get("calibration", {})), {k: float(v) for k, v in suppression.items()},
                   proposal, decides, extrema, keep_unet, spares, average_flips, long_echo, second_opinion, echo_times)

    def build_network(self) -> CandidateNet:
        """The classifier this section describes (needs torch), with fresh weights."""
        from .secondstage import CandidateNet

        return CandidateNet(self.in_channels, self.width, len(self.features))

    def tensor_shapes(self) -> dict[str, tuple[tuple[int, ...], bool]]:
        """Name -> (shape, floating point) of each tensor of `build_network()`'s state_dict,
        computed without torch (a test compares them with the network's)."""
        shapes: dict[str, tuple[tuple[int, ...], bool]] = {}
        width, channels = self.width, self.in_channels
        for index, (i, o) in zip((0, 2, 4), ((channels, width), (width, 2 * width), (2 * width, 4 * width))):
            shapes[f"features.{index}.0.weight"] = ((o, i, 3, 3, 3), True)
            shapes.update(_batch_norm(f"features.{index}.1", o))
        shapes["head.0.weight"] = ((2 * width, 8 * width + len(self.features)), True)
        shapes["head.0.bias"] = ((2 * width,), True)
        shapes["head.2.weight"] = ((len(SECOND_STAGE_CLASSES), 2 * width), True)
        shapes["head.2.bias"] = ((len(SECOND_STAGE_CLASSES),), True)
        return shapes


def check_decides(value: object, name: str) -> tuple[str, ...]:
    """A second stage's `decides`: a non-empty list of distinct lesion class keys, in the
    classifier's order."""
    lesion_keys = SECOND_STAGE_CLASSES[1:]
    if (not isinstance(value, list) or not value or len(set(value)) != len(value)
            or not all(isinstance(key, str) and key in lesion_keys for key in value)):
        raise InputError(name, f"{value!r} must be a non-empty list of distinct class keys from {list(lesion_keys)}")
    return tuple(key for key in lesion_keys if key in value)


def check_extrema(value: object, name: str) -> dict:
    """A second stage's `extrema`: {"swi_below": a number of SD from -20 to 0, "qsm_above":
    a positive one (0 to 20)}."""
    if not isinstance(value, dict) or set(value) != {"swi_below", "qsm_above"}:
        raise InputError(name, f"{value!r} must be an object with 'swi_below' and 'qsm_above' (standard deviations)")
    return {"swi_below": options.real_number(value["swi_below"], f"{name} swi_below", -20.0, 0.0),
            "qsm_above": options.real_number(value["qsm_above"], f"{name} qsm_above", 0.0, 20.0, low_open=True)}


def check_keep_unet(value: object, name: str) -> dict:
    """A second stage's `keep_unet`: {"unet_probability": p, "lesion_probability": q}, each a
    probability above 0 (at 0 every U-Net candidate would be kept)."""
    if not isinstance(value, dict) or set(value) != {"unet_probability", "lesion_probability"}:
        raise InputError(name, f"{value!r} must be an object with 'unet_probability' and 'lesion_probability'")
    return {key: options.real_number(value[key], f"{name} {key}", 0.0, 1.0, low_open=True) for key in ("unet_probability", "lesion_probability")}


def check_suppression_spares(value: object, name: str) -> dict:
    """A second stage's `suppression_spares`: per lesion class key, the smallest candidate (in
    voxels, a whole number from 1) that suppression keeps."""
    if not isinstance(value, dict) or not value or set(value) - set(SECOND_STAGE_CLASSES[1:]):
        raise InputError(name, f"{value!r} must be an object giving 'cmb', 'iron' or both")
    return {key: options.whole_number(value[key], f"{name} {key}", 1, 100_000) for key in SECOND_STAGE_CLASSES[1:] if key in value}


def check_second_opinion(value: object, name: str) -> dict:
    """A second stage's `second_opinion`: {"from": the index of another classifier of the card
    (a whole number; ModelCard.validate checks it names another one), "min_probability":
    {lesion class key: probability above 0} for one or both classes, optionally "below_ms": an
    SWI echo time (ms, ECHO_TIME_RANGE_MS) from which the opinion is not taken}."""
    if not isinstance(value, dict) or not {"from", "min_probability"} <= set(value) <= {"from", "min_probability", "below_ms"}:
        raise InputError(name, f"{value!r} must be an object with 'from' and 'min_probability' (and optionally 'below_ms')")
    minimum = value["min_probability"]
    if not isinstance(minimum, dict) or not minimum or set(minimum) - set(SECOND_STAGE_CLASSES[1:]):
        raise InputError(name, f"min_probability {minimum!r} must give 'cmb', 'iron' or both")
    checked = {"from": options.whole_number(value["from"], f"{name} from", 0, 7),
               "min_probability": {key: options.real_number(minimum[key], f"{name} min_probability {key}", 0.0, 1.0, low_open=True)
                                   for key in SECOND_STAGE_CLASSES[1:] if key in minimum}}
    if "below_ms" in value:
        checked["below_ms"] = options.real_number(value["below_ms"], f"{name} below_ms", *ECHO_TIME_RANGE_MS)
    return checked


def check_echo_times(value: object, name: str) -> dict:
    """A second stage's `echo_times`: {"below_ms": T} or {"from_ms": T}, T an echo time in ms
    (ECHO_TIME_RANGE_MS)."""
    if not isinstance(value, dict) or len(value) != 1 or set(value) - {"below_ms", "from_ms"}:
        raise InputError(name, f"{value!r} must be an object with one of 'below_ms' and 'from_ms'")
    (key, ms), = value.items()
    return {key: options.real_number(ms, f"{name} {key}", *ECHO_TIME_RANGE_MS)}


def check_long_echo(value: object, name: str) -> dict:
    """A second stage's `long_echo`: {"from_ms": an echo time in ms (ECHO_TIME_RANGE_MS),
    "min_probability": {lesion class key: probability} for one or both classes, optionally
    "calibration": the record of how they were chosen}."""
    if not isinstance(value, dict) or not {"from_ms", "min_probability"} <= set(value) <= {"from_ms", "min_probability", "calibration"}:
        raise InputError(name, f"{value!r} must be an object with 'from_ms' and 'min_probability' (and optionally 'calibration')")
    minimum = value["min_probability"]
    if not isinstance(minimum, dict) or not minimum or set(minimum) - set(SECOND_STAGE_CLASSES[1:]):
        raise InputError(name, f"min_probability {minimum!r} must give 'cmb', 'iron' or both")
    if not isinstance(value.get("calibration", {}), dict):
        raise InputError(name, "calibration must be an object")
    return {"from_ms": options.real_number(value["from_ms"], f"{name} from_ms", *ECHO_TIME_RANGE_MS),
            "min_probability": {key: options.probability(minimum[key], f"{name} min_probability {key}")
                                for key in SECOND_STAGE_CLASSES[1:] if key in minimum},
            **({"calibration": dict(value["calibration"])} if "calibration" in value else {})}


def check_proposal(value: object, name: str) -> float:
    """A second stage's proposal: a number in (0, 0.5] (above 0.5 it would propose less than
    the U-Net's arg-max, which the classifier never saw)."""
    return options.real_number(value, name, 0.0, 0.5, low_open=True)


def _batch_norm(prefix: str, channels: int) -> dict[str, tuple[tuple[int, ...], bool]]:
    """The state_dict entries of a batch-norm layer of `channels` channels."""
    shapes = {f"{prefix}.{name}": ((channels,), True) for name in ("weight", "bias", "running_mean", "running_var")}
    shapes[f"{prefix}.num_batches_tracked"] = ((), False)
    return shapes
