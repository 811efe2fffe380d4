"""The SWI's echo time, which sets how strongly susceptibility darkens it.

A susceptibility source's phase, and so its darkening in SWI, grows with the echo time: at
20-25 ms microbleeds bloom and veins darken far more than at 7.5 ms, while QSM (in ppm)
and T2 do not change. A second-stage classifier whose card lists the feature
`swi_echo_time` is told the SWI's echo time, so that one classifier can learn both.

It comes from the JSON sidecar beside the SWI image, as BIDS and dcm2niix write it
(`swi.json` beside `swi.nii.gz`, `EchoTime` in seconds; the simulator writes one too), from a
DICOM series' Echo Time (0018,0081, ms), from a BIDS dataset's metadata, or from the user
(`--swi-echo-time` in milliseconds, or the Slicer module's field). The sidecar's name is the
image's with `.json` for its image suffix.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from .errors import InputError

MISSING_ECHO_TIME = ("the model's second stage takes the SWI's echo time, and none was given: put a JSON sidecar beside the SWI "
                     "(swi.json with EchoTime in seconds, as BIDS and dcm2niix write it) or give --swi-echo-time MS")
# how a detection's notes on its echo-time rules begin (pipeline.long_echo_notes): the Slicer module shows those notes
LONG_ECHO_NOTE_START = "SWI echo time"
ECHO_TIME_RANGE_MS = (1.0, 100.0)  # an SWI's echo time outside this is a unit mistake, not a protocol
SIDECAR_SUFFIX = ".json"
ECHO_TIME_AGREEMENT_MS = 0.05  # a given echo time and a sidecar's may differ by rounding, not more


def known_to_reach(echo_time_ms: float | None, threshold_ms: float) -> bool:
    """Whether an SWI's echo time (ms; None: not known) is known to be `threshold_ms` or
    longer: where a model's rules for long echo times apply (an unknown one gets the rules for
    short echo times)."""
    return echo_time_ms is not None and echo_time_ms >= threshold_ms


def check_echo_time_ms(value: object, source: object) -> float:
    """`value` as an echo time in milliseconds; InputError naming `source` unless it is a
    finite number within ECHO_TIME_RANGE_MS (a value in seconds, such as 0.02, is refused)."""
    low, high = ECHO_TIME_RANGE_MS
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not low <= value <= high:
        raise InputError(source, f"SWI echo time {value!r} ms is not a number from {low:g} to {high:g} ms "
                                 f"(BIDS sidecars give EchoTime in seconds; --swi-echo-time takes milliseconds)")
    return float(value)


def sidecar_path(image: Path | str) -> Path:
    """The JSON sidecar's path for an image file (`swi.nii.gz` -> `swi.json`) or DICOM folder (`swi/` -> `swi.json`)."""
    from .volumes import IMAGE_SUFFIXES  # not at import: the command line's --help reads this module, and volumes needs SimpleITK

    image = Path(image)
    name = image.name
    for suffix in IMAGE_SUFFIXES:
        if name.lower().endswith(suffix):
            return image.with_name(name[: -len(suffix)] + SIDECAR_SUFFIX)
    return image.with_name(name + SIDECAR_SUFFIX)


def echo_time_from_metadata(metadata: dict, source: object) -> float | None:
    """The echo time in milliseconds from BIDS metadata (`EchoTime`, seconds), None when absent.
    A multi-echo list is refused: SWI is made from one echo, and which one cannot be guessed."""
    if "EchoTime" not in metadata:
        return None
    seconds = metadata["EchoTime"]
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise InputError(source, f"EchoTime {seconds!r} is not one number of seconds")
    return check_echo_time_ms(seconds * 1000.0, source)


DICOM_ECHO_TIME = "0018|0081"  # Echo Time, in ms


def dicom_echo_time(folder: Path | str) -> float | None:
    """The echo time (ms) of a DICOM series folder's Echo Time, None when its files give none;
    InputError when they give several (echoes mixed in one series) or one that is not a number."""
    from .volumes import dicom_series_values

    values = dicom_series_values(folder, DICOM_ECHO_TIME)
    if len(values) > 1:
        raise InputError(folder, f"the series' files give {len(values)} echo times ({', '.join(values)} ms): SWI is one echo")
    if not values:
        return None
    try:
        milliseconds = float(values[0])
    except ValueError:
        raise InputError(folder, f"Echo Time (0018,0081) {values[0]!r} is not a number") from None
    return check_echo_time_ms(milliseconds, folder)


def read_swi_echo_time(image: Path | str) -> float | None:
    """The echo time (ms) in the image's JSON sidecar, else, for a DICOM series folder, in its
    files' Echo Time; None when neither gives one. InputError naming the sidecar or folder
    when it cannot be read or its echo time is wrong."""
    path = sidecar_path(image)
    if not path.is_file():
        return dicom_echo_time(image) if Path(image).is_dir() else None
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(path, f"cannot be read as a JSON sidecar ({err})") from None
    if not isinstance(metadata, dict):
        raise InputError(path, "a JSON sidecar must hold an object")
    return echo_time_from_metadata(metadata, path)
