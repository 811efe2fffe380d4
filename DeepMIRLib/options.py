"""Checks of option values, shared by the command line's parser and the library's entry points.

Each check takes the value as given (text from the command line, or a number from Python),
returns it converted, and raises InputError naming the option and the problem for values
that would run and give wrong or empty output (-1 slices, a probability of 2, a NaN
tolerance). `argument(check, ...)` makes a check an argparse `type`, so that the parser
refuses such values with its usual usage message and exit status 2.
"""

from __future__ import annotations

import argparse
import math
import numbers
import re
from collections.abc import Callable

from .errors import InputError
from .preprocessing import NETWORK_MULTIPLE as CANVAS_MULTIPLE  # the U-Net halves a slice five times

MAX_BASE_WIDTH = 256  # the widest U-Net a model card or `train --width` may ask for


def whole_number(value: object, name: str, minimum: int | None = 1, maximum: int | None = None) -> int:
    """An integer between `minimum` and `maximum` (None: unbounded)."""
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise InputError(name, f"{value!r} is not a whole number") from None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(name, f"{value!r} is not a whole number")
    value = int(value)
    if minimum is not None and value < minimum or maximum is not None and value > maximum:
        raise InputError(name, f"{value} is not a whole number {_range_text(minimum, maximum)}")
    return value


def real_number(value: object, name: str, low: float | None = None, high: float | None = None, low_open: bool = False) -> float:
    """A finite number in [low, high] (or (low, high] with `low_open`); None: unbounded."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise InputError(name, f"{value!r} is not a number") from None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(name, f"{value!r} is not a number")
    value = float(value)
    below = low is not None and (value <= low if low_open else value < low)
    if not math.isfinite(value) or below or (high is not None and value > high):
        interval = f"{'(' if low_open else '['}{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}]"
        raise InputError(name, f"{value} is not a finite number in {interval}")
    return value


def positive_number(value: object, name: str) -> float:
    """A finite number above 0 (sizes, distances, rates)."""
    return real_number(value, name, 0.0, None, low_open=True)


def probability(value: object, name: str) -> float:
    """A probability in [0, 1]."""
    return real_number(value, name, 0.0, 1.0)


def canvas(value: object, name: str = "--canvas") -> str | tuple[int, int]:
    """'auto', or (height, width) as 'HxW': sides multiples of 32 (the U-Net halves a slice
    five times), e.g. 256x256 as in the paper."""
    if value == "auto":
        return "auto"
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", value)
        if not match:
            raise InputError(name, f"{value!r} is neither 'auto' nor HxW (e.g. 256x256)")
        value = (int(match.group(1)), int(match.group(2)))
    if not (isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value)):
        raise InputError(name, f"{value!r} is neither 'auto' nor (height, width)")
    if not all(v >= CANVAS_MULTIPLE and v % CANVAS_MULTIPLE == 0 for v in value):
        raise InputError(name, f"{value[0]}x{value[1]}: each side must be a positive multiple of {CANVAS_MULTIPLE} (e.g. 256x256)")
    return (int(value[0]), int(value[1]))


DEVICE_PATTERN = re.compile(r"auto|cpu|cuda(:\d+)?|mps")


def device(value: object, name: str = "--device") -> str:
    """'auto', 'cpu', 'cuda', 'cuda:N' or 'mps' (whether the machine has it is checked when
    the device is chosen: inference.choose_device)."""
    if not isinstance(value, str) or not DEVICE_PATTERN.fullmatch(value):
        raise InputError(name, f"{value!r} is not a device: use auto, cpu, cuda, cuda:N or mps")
    return value


def argument(check: Callable, **limits: object) -> Callable[[str], object]:
    """`check` as an argparse type: the parser reports the problem as its own error."""

    def parse(text: str):
        try:
            return check(text, "", **limits)
        except InputError as err:
            raise argparse.ArgumentTypeError(err.problem) from None

    parse.__name__ = check.__name__.replace("_", " ")  # argparse names the type in some messages
    return parse


def _range_text(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f"from {minimum} to {maximum}"
    return f"of at least {minimum}" if minimum is not None else f"of at most {maximum}"
