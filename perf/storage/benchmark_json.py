"""Baseline entries from the pytest-benchmark JSON files this suite writes (--benchmark-json): read, check, convert.

No torch: the workloads' tolerance regimes come in as a mapping, so the conversion runs and is tested anywhere.
"""

from __future__ import annotations

import datetime
import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perf.core.admission import baseline_refusal
from perf.core.baselines import BaselineEntry, BaselineError, RunInfo
from perf.core.results import Outcome, Timing
from perf.core.stats import summarize_rounds
from perf.core.tolerance import Regime, new_entry
from perf.storage.extra_info import WORKLOAD_KEY, SuiteBenchmark, from_extra_info, outcome_of
from perf.storage.field_reader import FieldReader

COMMAND = "python -m perf baseline update"
# environment["source"] of a run converted from a file. Its fields are the suite's fingerprint where the file has
# one (FINGERPRINT_FIELD, written by this suite's plugin), else only what pytest-benchmark's machine_info knows
# (python, host CPU): torch, CUDA and driver then stay unrecorded, so never compared.
SOURCE = "benchmark-json"
# Not keys pytest-benchmark writes itself: the plugin's pytest_benchmark_update_machine_info adds them. GPU_FIELD
# is a name or an object with a name (without it the device is named by its slug).
GPU_FIELD = "gpu"
FINGERPRINT_FIELD = "vggt_perf_environment"


class BenchmarkJsonError(BaselineError):
    """A benchmark JSON file that cannot become baseline entries; the message names the file and the field."""


class _JsonReader(FieldReader):
    """The baseline file's strict field reader, with errors that speak of a benchmark JSON file."""

    def fail(self, where: str, problem: str) -> BenchmarkJsonError:
        return BenchmarkJsonError(
            f"{self.path}: {where}: {problem} (expected as this suite's pytest --benchmark-json writes it; "
            "nothing was written)"
        )


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


def read_benchmark_json(path: Path) -> BenchmarkFile:
    """The suite's benchmarks of one file, every field checked; any problem raises BenchmarkJsonError."""
    read = _JsonReader(path)
    document = _parse(path)
    raw_benchmarks = read.get(document, "benchmarks", list, "file")
    machine = document.get("machine_info")
    machine = machine if isinstance(machine, dict) else {}
    suite: list[SuiteBenchmark] = []
    foreign: list[str] = []
    for index, raw in enumerate(raw_benchmarks):
        named = raw.get("name") if isinstance(raw, dict) else None
        name = named if isinstance(named, str) else f"benchmarks[{index}]"
        extra = raw.get("extra_info") if isinstance(raw, dict) else None
        if isinstance(extra, dict) and WORKLOAD_KEY in extra:
            suite.append(_benchmark(read, raw, name))
        else:
            foreign.append(name)
    if not suite:
        raise BenchmarkJsonError(
            f"{path}: no vggt-perf benchmarks ({len(raw_benchmarks)} benchmarks, none with extra_info.workload); "
            "pass a file written by this suite's pytest --benchmark-json"
        )
    return BenchmarkFile(
        path,
        _measured_at(read, document),
        _environment(read, document, machine),
        _gpu_name(machine),
        tuple(suite),
        tuple(foreign),
    )


def _parse(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BenchmarkJsonError(f"{path}: cannot be read ({error}); check the path; nothing was written") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise BenchmarkJsonError(
            f"{path}: not valid JSON at line {error.lineno} column {error.colno} ({error.msg}); nothing was written"
        ) from None
    except (ValueError, RecursionError) as error:  # an integer beyond the digit limit, nesting beyond the stack
        raise BenchmarkJsonError(
            f"{path}: not valid JSON ({str(error).splitlines()[0]}); nothing was written"
        ) from None


def _benchmark(read: FieldReader, raw: dict[str, Any], name: str) -> SuiteBenchmark:
    where = f"{name}.extra_info"
    extra = raw["extra_info"]
    ok = outcome_of(read, extra, where) is Outcome.OK  # other outcomes have no timed rounds to read
    timing = _timing(read, read.get(raw, "stats", dict, name), f"{name}.stats") if ok else None
    return from_extra_info(read, extra, where, timing)


def _timing(read: FieldReader, stats: dict[str, Any], where: str) -> Timing:
    """The live run's summary of the same rounds where they are recorded, else pytest-benchmark's own."""
    rounds = read.count(stats, "rounds", where, minimum=1)
    samples = read.optional(stats, "data", read.samples, where, ())
    if samples:
        if len(samples) != rounds:
            raise read.fail(f"{where}.data", f"holds {len(samples)} rounds, rounds says {rounds}")
        # perf.measure.case summarises stats.data with this same function: IQR by its quartiles, not pytest-benchmark's.
        timing = summarize_rounds(samples)
    else:
        timing = Timing(
            read.number(stats, "median", where),
            read.number(stats, "iqr", where),
            read.number(stats, "min", where),
            read.number(stats, "max", where),
            rounds,
        )
    if timing.median_s <= 0:
        raise read.fail(f"{where}.median", "is 0: a baseline needs a positive median")
    return timing


def _measured_at(read: FieldReader, document: Any) -> str:
    text = read.text(document, "datetime", "file")
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise read.fail("file.datetime", f"{text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:  # pytest-benchmark before 4.0 wrote utcnow() without an offset
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc).replace(microsecond=0).isoformat()


def _environment(read: _JsonReader, document: Mapping[str, Any], machine: Mapping[str, Any]) -> dict[str, str]:
    """The suite's fingerprint where the file holds one, over the fields pytest-benchmark's machine_info also
    knows, spelled as perf.hardware.fingerprint spells them."""
    cpu = machine.get("cpu")
    cpu = cpu if isinstance(cpu, dict) else {}
    brand, count = cpu.get("brand_raw"), cpu.get("count")
    known = {
        "python": machine.get("python_version"),
        "host_cpu": f"{brand} x{count}" if isinstance(brand, str) and isinstance(count, int) else None,
        "host_cpu_count": str(count) if isinstance(count, int) else None,
        "pytest-benchmark": document.get("version"),
    }
    environment = {name: value for name, value in known.items() if isinstance(value, str) and value}
    fingerprint = machine.get(FINGERPRINT_FIELD, {})
    where = f"machine_info.{FINGERPRINT_FIELD}"
    if not isinstance(fingerprint, dict):
        raise read.fail(where, f"expected an object, got {type(fingerprint).__name__}")
    for name, value in fingerprint.items():
        if not isinstance(value, str):
            raise read.fail(f"{where}.{name}", f"expected a string, got {type(value).__name__}")
    return {**environment, **fingerprint, "source": SOURCE}


def _gpu_name(machine: Mapping[str, Any]) -> str:
    gpu = machine.get(GPU_FIELD)
    name = gpu.get("name") if isinstance(gpu, dict) else gpu
    return name if isinstance(name, str) else ""


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


def render_conversion(conversion: Conversion) -> list[str]:
    """One line per written entry and per skipped benchmark, under a line naming the file and its run."""
    lines = [
        f"{conversion.path}: run {conversion.run.measured_at}, {len(conversion.entries)} entries, "
        f"{len(conversion.skipped)} skipped"
    ]
    for entry in conversion.entries:
        timing = entry.timing
        lines.append(
            f"  wrote {entry.key.case_id}: median {timing.median_s:#.4g} s over {timing.rounds} rounds, "
            f"IQR/median {timing.iqr_s / timing.median_s:.1%}, tolerance time +{entry.time_tolerance:.0%} "
            f"memory +{entry.memory_tolerance:.0%}"
        )
    lines += [f"  skipped {skip.case_id}: {skip.reason}" for skip in conversion.skipped]
    return lines
