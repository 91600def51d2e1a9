"""A baseline file's contents as frozen values, and the pure merge an update applies to them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from perf.core.results import CaseKey, Evidence, Memory, Timing


class BaselineError(Exception):
    """A baseline file that cannot be used; the message names the file, the field and what to do."""


@dataclass(frozen=True)
class RunInfo:
    """Where a group of entries was measured: when, by which command, in which environment."""

    measured_at: str
    command: str
    environment: Mapping[str, str]


@dataclass(frozen=True)
class BaselineEntry:
    key: CaseKey
    dtype: str
    timing: Timing
    memory: Memory | None
    time_tolerance: float
    memory_tolerance: float
    run: str
    evidence: Evidence = field(default_factory=Evidence)
    # The median of each independent process that recorded the entry, in the order they ran; timing then pools
    # them (perf.core.stats.pooled_timing). () for an entry of one process: an older file, or a single-process update.
    process_medians_s: tuple[float, ...] = ()

    @property
    def processes(self) -> int:
        return max(1, len(self.process_medians_s))


@dataclass(frozen=True)
class Baseline:
    device: Mapping[str, str]
    runs: Mapping[str, RunInfo] = field(default_factory=dict)
    entries: Mapping[str, BaselineEntry] = field(default_factory=dict)


def merge(existing: Baseline, new_entries: Iterable[BaselineEntry], run_id: str, run: RunInfo) -> Baseline:
    """Replace or add the measured entries, keep every other entry, drop runs no entry refers to."""
    entries = dict(existing.entries)
    measured = {entry.key.case_id: entry for entry in new_entries}
    # A run id that kept entries still name (two updates within one second) gets a suffix: never rewrite their run.
    kept_runs = {entry.run for case_id, entry in entries.items() if case_id not in measured}
    unique, n = run_id, 1
    while unique in kept_runs and existing.runs.get(unique) != run:
        n += 1
        unique = f"{run_id}-{n}"
    for case_id, entry in measured.items():
        entries[case_id] = replace(entry, run=unique)
    runs = {**existing.runs, unique: run}
    used = {entry.run for entry in entries.values()}
    return Baseline(existing.device, {k: v for k, v in runs.items() if k in used}, entries)
