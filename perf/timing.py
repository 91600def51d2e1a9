"""How a case is timed: synchronized forwards, warm-up until steady, rounds sized to a time budget."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from perf.device import synchronize


@dataclass(frozen=True)
class RoundPolicy:
    """Warm up for at least one forward and warmup_s; then time rounds filling max_time_s within the bounds."""

    warmup_s: float = 0.5
    max_time_s: float = 2.0
    min_rounds: int = 3
    max_rounds: int = 100


def plan_rounds(round_s: float, policy: RoundPolicy) -> int:
    """Rounds that fill the time budget at round_s each, never fewer than min_rounds nor more than max_rounds."""
    wanted = math.ceil(policy.max_time_s / round_s) if round_s > 0 else policy.max_rounds
    return max(policy.min_rounds, min(policy.max_rounds, wanted))


def synchronized(forward: Callable[[], object], device: torch.device) -> Callable[[], None]:
    """The forward followed by a device synchronize: the host clock around it counts all GPU work."""

    def run() -> None:
        forward()
        synchronize(device)

    return run


def warm_up(run: Callable[[], None], policy: RoundPolicy) -> float:
    """Run until warmup_s has passed (kernel selection, cuDNN plans, allocator growth), at least once.

    Returns the last warm-up's seconds, the estimate of one round. A first, cold forward overstates
    a round, so a second runs unless the first alone fills the time budget (then min_rounds apply anyway).
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
            return last
