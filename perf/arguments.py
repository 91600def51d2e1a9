"""Command-line value types shared by the pytest options and `python -m perf`; no torch, so the CLI starts fast.

Each raises argparse.ArgumentTypeError, whose message argparse shows as is ("0 is not a positive integer"),
where a ValueError would read "invalid positive_int value".
"""

from __future__ import annotations

import argparse
import math


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def fraction(text: str) -> float:
    """A tolerance such as 0.05 (5 %); up to 10, i.e. +1000 %."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value < 10:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction such as 0.05")
    return value


def seconds(text: str) -> float:
    """A finite, non-negative duration."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds such as 0.5")
    return value
