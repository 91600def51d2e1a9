"""How a case is timed: synchronized forwards, warm-up until steady, rounds until the median is known well enough."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from perf.core.stats import median_interval_reach
from perf.hardware.device import synchronize


@dataclass(frozen=True)
class RoundPolicy:
    """Warm up for at least one forward and warmup_s; then time rounds until the median's 95 % interval lies within
    +-precision of it (a fraction), or the rounds add up to max_time_s, never fewer than min_rounds nor more than
    max_rounds (unless min_rounds is more)."""

    warmup_s: float = 0.5
    max_time_s: float = 5.0
    min_rounds: int = 3
    max_rounds: int = 100
    precision: float = 0.01


class RoundsEndedBy(enum.Enum):
    """What ended a case's timed rounds: recorded with the result, so a noisy case says it ran out of time."""

    PRECISION = "precision"
    TIME_CAP = "time cap"
    ROUND_CAP = "round cap"


def rounds_ended_by(samples_s: Sequence[float], policy: RoundPolicy) -> RoundsEndedBy | None:
    """Whether the rounds so far are enough, and why; None to time another. Time is the rounds' own seconds, so
    nothing between them (this check included) uses up the budget. min_rounds wins over max_rounds. Pure."""
    if len(samples_s) >= max(policy.max_rounds, policy.min_rounds):
        return RoundsEndedBy.ROUND_CAP
    if len(samples_s) < policy.min_rounds:
        return None
    if median_interval_reach(samples_s) <= policy.precision:
        return RoundsEndedBy.PRECISION
    if sum(samples_s) >= policy.max_time_s:
        return RoundsEndedBy.TIME_CAP
    return None


class _EnoughRounds(Exception):
    """Raised before a round that is not needed: ends pytest-benchmark's fixed loop of rounds."""


def time_rounds(benchmark: Any, run: Callable[[], None], policy: RoundPolicy) -> RoundsEndedBy:
    """Time rounds of run with benchmark.pedantic until rounds_ended_by says so; returns why they ended.

    pytest-benchmark runs a fixed number of rounds. Its setup hook runs before each: it raises _EnoughRounds once
    the rounds so far suffice. pedantic marks its fixture errored on any exception; that mark is cleared, and the
    rounds completed stay in its stats. What pytest-benchmark does after its loop is skipped: --benchmark-cprofile
    has no profile to show for these cases.
    """
    ended: list[RoundsEndedBy] = []

    def before_round() -> None:
        samples = benchmark.stats.stats.data if benchmark.stats is not None else []
        if reason := rounds_ended_by(samples, policy):
            ended.append(reason)
            raise _EnoughRounds

    most = max(policy.max_rounds, policy.min_rounds)
    try:
        benchmark.pedantic(run, setup=before_round, rounds=most + 1, iterations=1, warmup_rounds=0)
    except _EnoughRounds:
        benchmark.has_error = False
    return ended[0] if ended else RoundsEndedBy.ROUND_CAP


def synchronized(forward: Callable[[], object], device: torch.device) -> Callable[[], None]:
    """The forward followed by a device synchronize: the host clock around it counts all GPU work."""

    def run() -> None:
        forward()
        synchronize(device)

    return run


def warm_up(run: Callable[[], None], policy: RoundPolicy) -> None:
    """Run until warmup_s has passed (kernel selection, cuDNN plans, allocator growth), at least once.

    A first, cold forward is no steady state, so a second runs unless the first alone fills the time budget of the
    rounds (a case that slow gets min_rounds anyway).
    """
    started = time.perf_counter()
    forwards = 0
    while True:
        begin = time.perf_counter()
        run()
        last = time.perf_counter() - begin
        forwards += 1
        warm = forwards >= 2 or last >= policy.max_time_s
        if warm and time.perf_counter() - started >= policy.warmup_s:
            return
