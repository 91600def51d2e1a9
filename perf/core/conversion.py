"""Baseline entries from the benchmarks of pytest --benchmark-json files, as --update-baselines makes them from a live
run: the values such a file holds and the pure conversion (perf.storage.benchmark_json reads the files)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from perf.core.admission import baseline_refusal
from perf.core.baselines import BaselineEntry, BaselineError, RunInfo
from perf.core.results import CaseKey, Evidence, Memory, Outcome, Timing
from perf.core.tolerance import Regime, new_entry

COMMAND = "python -m perf baseline update"


class BenchmarkJsonError(BaselineError):
    """A benchmark JSON file that cannot become baseline entries; the message names the file and the field."""


@dataclass(frozen=True)
class SuiteBenchmark:
    """One benchmark of this suite as its extra_info and stats record it; timing only where the outcome is ok."""

    key: CaseKey
    measured_backend: str
    device_slug: str
    outcome: Outcome
    reason: str
    dtype: str
    timing: Timing | None
    memory: Memory | None
    evidence: Evidence
    suspect: str = ""  # why the rounds are suspect (perf.hardware.clocks), "" if they are not


@dataclass(frozen=True)
class BenchmarkFile:
    """What one --benchmark-json file holds: the suite's benchmarks, the others' names, when and where it ran."""

    path: Path
    measured_at: str  # UTC, whole seconds: the form --update-baselines writes and uses as the run id
    environment: Mapping[str, str]
    gpu_name: str
    benchmarks: tuple[SuiteBenchmark, ...]
    foreign: tuple[str, ...]  # benchmarks without extra_info.workload: not this suite's


@dataclass(frozen=True)
class Skipped:
    """A benchmark that does not become an entry, and why."""

    case_id: str  # the benchmark's name where it is not a suite case
    reason: str


@dataclass(frozen=True)
class Conversion:
    """One file's contribution: its run and entries, and what was left out."""

    path: Path
    run: RunInfo
    entries: tuple[BaselineEntry, ...]
    skipped: tuple[Skipped, ...]


def device_of(files: Sequence[BenchmarkFile]) -> dict[str, str]:
    """The one device all benchmarks measured, as a baseline file's device; BenchmarkJsonError if they disagree."""
    slugs = {(b.device_slug, f.path): None for f in files for b in f.benchmarks}
    distinct = sorted({slug for slug, _ in slugs})
    if len(distinct) != 1:
        listed = "; ".join(f"{path}: {slug}" for slug, path in slugs)
        raise BenchmarkJsonError(
            f"the benchmarks measured {len(distinct)} devices ({listed}); convert one device's files per call, "
            "each into that device's own baseline file"
        )
    names = [f.gpu_name for f in files if f.gpu_name]
    return {"name": names[0] if names else distinct[0], "slug": distinct[0], "total_memory_bytes": ""}


def update_command(paths: Sequence[Path]) -> str:
    """The run's command, as baselines record a live run's pytest command line."""
    return " ".join([COMMAND, *(f"--from-json {shlex.quote(str(path))}" for path in paths)])


def convert(
    file: BenchmarkFile,
    command: str,
    regimes: Mapping[str, Sequence[Regime]],
    time_tolerance: float,
    memory_tolerance: float,
) -> Conversion:
    """Entries as --update-baselines builds them from a live run (perf.pytest_plugin), one run per file.

    regimes maps each registered workload to its regimes (perf.workloads.registry.WORKLOADS).
    """
    entries: list[BaselineEntry] = []
    skipped = [Skipped(name, "not a vggt-perf case: no extra_info.workload") for name in file.foreign]
    for benchmark in file.benchmarks:
        reason = baseline_refusal(
            benchmark.key,
            benchmark.measured_backend,
            benchmark.outcome,
            benchmark.reason,
            benchmark.suspect,
            regimes,
        )
        if reason or benchmark.timing is None:
            skipped.append(Skipped(benchmark.key.case_id, reason))
            continue
        entries.append(
            new_entry(
                benchmark.key,
                benchmark.dtype,
                benchmark.timing,
                benchmark.memory,
                benchmark.evidence,
                least_time_tolerance=time_tolerance,
                memory_tolerance=memory_tolerance,
                regimes=regimes[benchmark.key.workload],
            )
        )
    run = RunInfo(file.measured_at, command, file.environment)
    return Conversion(file.path, run, tuple(entries), tuple(skipped))
