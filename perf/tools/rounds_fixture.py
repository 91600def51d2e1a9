"""pytest-benchmark's fixture as perf.measure.case uses it, for a process that is not a pytest session."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any


class RoundsFixture:
    """pytest-benchmark's fixture as perf.measure.case uses it, for a process that is not a pytest session: pedantic
    calls setup before each round (an exception there propagates, marking the fixture errored) and keeps the
    completed rounds' seconds in stats.stats.data."""

    def __init__(self) -> None:
        self.stats: Any = None
        self.has_error = False

    def pedantic(
        self, target: Callable[[], object], setup: Callable[[], None], rounds: int, iterations: int, warmup_rounds: int
    ) -> None:
        samples: list[float] = []
        self.stats = argparse.Namespace(stats=argparse.Namespace(data=samples))
        try:
            for _ in range(rounds):
                setup()
                started = time.perf_counter()
                target()
                samples.append(time.perf_counter() - started)
        except Exception:
            self.has_error = True
            raise
