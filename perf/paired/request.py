"""What a paired run is asked to do, as frozen values, and its defaults; no torch, so the CLI parses it at once."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from perf.core.results import CaseKey
from perf.core.tolerance import DEFAULT_TIME_TOLERANCE

# Ten rounds a side at least: the rank test of 10 against 10 can reach p < 0.01 (perf.core.stats), and the median's
# interval exists from 6 rounds on (perf.core.stats.median_interval_reach).
DEFAULT_MIN_ROUNDS = 10
# Per side, twice the pytest gate's 5 s: both sides share the job, and the aggregator's 20 frames (0.3 s on an H200)
# then gets about 30 rounds a side.
DEFAULT_MAX_TIME_S = 10.0
DEFAULT_MAX_ROUNDS = 200  # per side: attention's millisecond cases stop at precision long before
# The suite's RoundPolicy defaults (perf.measure.timing), repeated here so the CLI need not import torch;
# tests/unit/test_paired_cli.py holds them equal.
DEFAULT_WARMUP_S = 0.5
DEFAULT_PRECISION = 0.01
# Worker processes per side: each process carries its own offset (the aggregator at 20 frames, 1.1 % between the
# H200's processes, docs/paired.md), so one per side leaves it in the verdict; three, as an update pools three.
DEFAULT_WORKERS = 3


@dataclass(frozen=True)
class WorkerSpec:
    """How one side's worker starts: its interpreter and the folders put first on its PYTHONPATH."""

    python: str = sys.executable
    paths: tuple[Path, ...] = ()

    def describe(self) -> str:
        where = ":".join(str(p) for p in self.paths) or "none"
        return f"{self.python}, PYTHONPATH first {where}"


@dataclass(frozen=True)
class PairedRequest:
    cases: tuple[CaseKey, ...]
    base: WorkerSpec = field(default_factory=WorkerSpec)
    head: WorkerSpec = field(default_factory=WorkerSpec)
    workers: int = DEFAULT_WORKERS  # per side
    min_rounds: int = DEFAULT_MIN_ROUNDS  # per worker
    max_rounds: int = DEFAULT_MAX_ROUNDS  # per side, all its workers
    max_time_s: float = DEFAULT_MAX_TIME_S  # per side, all its workers
    warmup_s: float = DEFAULT_WARMUP_S
    precision: float = DEFAULT_PRECISION
    time_tolerance: float = DEFAULT_TIME_TOLERANCE
    head_slowdown: float = 0.0  # a sensitivity trial: the head's forwards get this fraction of added work
    json_path: Path | None = None
    command: str = ""  # the command line, recorded in the JSON file
