"""Command-line value types shared by the pytest options and `python -m perf`; no torch, so the CLI starts fast.

Each raises argparse.ArgumentTypeError, whose message argparse shows as is ("0 is not a positive integer"),
where a ValueError would read "invalid positive_int value".
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def positive_int(text: str) -> int:
    return _int_at_least(text, 1, "a positive integer")


def count(text: str) -> int:
    """A whole number of things, 0 included."""
    return _int_at_least(text, 0, "a whole number (0 or more)")


def _int_at_least(text: str, least: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = least - 1
    if value < least:
        raise argparse.ArgumentTypeError(f"{text} is not {what}")
    return value


def fraction(text: str) -> float:
    """A tolerance such as 0.05 (5 %); up to 10, i.e. +1000 %."""
    return _number_in(text, 0.0, 10.0, "a fraction such as 0.05")


def seconds(text: str) -> float:
    """A finite, non-negative duration."""
    return _number_in(text, 0.0, math.inf, "a number of seconds such as 0.5")


def _number_in(text: str, low: float, high: float, what: str) -> float:
    """float(text) within [low, high); anything else (words, NaN, out of range) is an ArgumentTypeError."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not low <= value < high:
        raise argparse.ArgumentTypeError(f"{text} is not {what}")
    return value


def list_of(parse: Callable[[str], T], choices: Sequence[str] | None = None) -> Callable[[str], tuple[T, ...]]:
    """An argparse type for comma-separated values, checked against choices when given."""

    def convert(text: str) -> tuple[T, ...]:
        items = [item.strip() for item in text.split(",") if item.strip()]
        if not items:
            raise argparse.ArgumentTypeError("expected a comma-separated list")
        unknown = [item for item in items if choices is not None and item not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {', '.join(unknown)}; choose from {', '.join(choices or ())}")
        try:
            return tuple(parse(item) for item in items)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return convert
