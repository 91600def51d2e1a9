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
from perf.core.tolerance import Regime, new_entry, pooled_entry

COMMAND = "python -m perf baseline update"
# Processes an update pools per case by default: two cannot tell which of them is the odd one, and the spread of
# three already sets a tolerance (perf.core.tolerance.between_run_tolerance); docs/gate-trials.md has the trials.
DEFAULT_MIN_RUNS = 3


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


def convert_runs(
    files: Sequence[BenchmarkFile],
    command: str,
    regimes: Mapping[str, Sequence[Regime]],
    time_tolerance: float,
    memory_tolerance: float,
    min_runs: int = DEFAULT_MIN_RUNS,
) -> Conversion:
    """Each case measured by at least min_runs of the files (each file one independent process, in the order given)
    as one entry pooling them: median of the processes' medians, all rounds, the tolerance widened by their spread.
    A case admitted in fewer files is skipped with the count. One run: the first file's time, the command, and the
    environment all files share (BenchmarkJsonError where they differ: pool processes of one environment)."""
    if not files:
        raise BenchmarkJsonError("no benchmark JSON files to convert")
    environments = {tuple(sorted(file.environment.items())) for file in files}
    if len(environments) > 1:
        fields = sorted(
            {
                name
                for file in files
                for name in file.environment
                if file.environment.get(name) != files[0].environment.get(name)
            }
        )
        raise BenchmarkJsonError(
            f"the runs were measured in different environments (fields {', '.join(fields)} differ between "
            f"{', '.join(str(file.path) for file in files)}): pool processes of one environment, or update each "
            "environment's files in a call of its own; nothing was written"
        )
    per_file = [convert(file, command, regimes, time_tolerance, memory_tolerance) for file in files]
    order = list(dict.fromkeys(benchmark.key.case_id for file in files for benchmark in file.benchmarks))
    measured: dict[str, list[SuiteBenchmark]] = {}
    skipped: dict[str, str] = {}
    for file, conversion in zip(files, per_file, strict=True):
        admitted = {entry.key.case_id for entry in conversion.entries}
        for benchmark in file.benchmarks:
            if benchmark.key.case_id in admitted:
                measured.setdefault(benchmark.key.case_id, []).append(benchmark)
        for skip in conversion.skipped:
            skipped.setdefault(skip.case_id, skip.reason)
    entries: list[BaselineEntry] = []
    left_out: list[Skipped] = []
    for case_id in order:
        runs = measured.get(case_id, [])
        if len(runs) < min_runs:
            if not runs and case_id in skipped:  # refused in every run: the refusal is the reason
                left_out.append(Skipped(case_id, skipped[case_id]))
                continue
            why = f"admitted in {len(runs)} of {len(files)} runs, fewer than --min-runs {min_runs}"
            left_out.append(Skipped(case_id, f"{why} (the others: {skipped[case_id]})" if case_id in skipped else why))
            continue
        entries.append(_pooled_entry(runs, regimes, time_tolerance, memory_tolerance))
    foreign = [skip for conversion in per_file for skip in conversion.skipped if skip.case_id not in order]
    run = RunInfo(files[0].measured_at, command, files[0].environment)
    return Conversion(files[0].path, run, tuple(entries), tuple(_unique([*foreign, *left_out])))


def _pooled_entry(
    runs: Sequence[SuiteBenchmark],
    regimes: Mapping[str, Sequence[Regime]],
    time_tolerance: float,
    memory_tolerance: float,
) -> BaselineEntry:
    """One entry of a case's runs: pooled timing, the largest peak memory (peaks repeat to the byte between
    processes of one build; the largest never fails a later run for the allocator's rounding), the first evidence."""
    first = runs[0]
    memories = [benchmark.memory for benchmark in runs if benchmark.memory is not None]
    memory = max(memories, key=lambda m: (m.peak_allocated_bytes, m.peak_reserved_bytes)) if memories else None
    return pooled_entry(
        first.key,
        first.dtype,
        [benchmark.timing for benchmark in runs if benchmark.timing is not None],
        memory if len(memories) == len(runs) else None,
        first.evidence,
        least_time_tolerance=time_tolerance,
        memory_tolerance=memory_tolerance,
        regimes=regimes[first.key.workload],
    )


def _unique(skips: Sequence[Skipped]) -> list[Skipped]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for skip in skips:
        if (skip.case_id, skip.reason) not in seen:
            seen.add((skip.case_id, skip.reason))
            kept.append(skip)
    return kept
