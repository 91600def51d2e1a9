"""The pytest-benchmark JSON files this suite writes (--benchmark-json), read and checked field by field into the
values perf.core.conversion turns into baseline entries."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perf.core.conversion import BenchmarkFile, BenchmarkJsonError, SuiteBenchmark
from perf.core.results import Outcome, Timing
from perf.core.stats import summarize_rounds
from perf.storage.extra_info import WORKLOAD_KEY, from_extra_info, outcome_of
from perf.storage.field_reader import FieldReader

# environment["source"] of a run converted from a file. Its fields are the suite's fingerprint where the file has
# one (FINGERPRINT_FIELD, written by this suite's plugin), else only what pytest-benchmark's machine_info knows
# (python, host CPU): torch, CUDA and driver then stay unrecorded, so never compared.
SOURCE = "benchmark-json"
# Not keys pytest-benchmark writes itself: the plugin's pytest_benchmark_update_machine_info adds them. GPU_FIELD
# is a name or an object with a name (without it the device is named by its slug).
GPU_FIELD = "gpu"
FINGERPRINT_FIELD = "vggt_perf_environment"


class _JsonReader(FieldReader):
    """The baseline file's strict field reader, with errors that speak of a benchmark JSON file."""

    def fail(self, where: str, problem: str) -> BenchmarkJsonError:
        return BenchmarkJsonError(
            f"{self.path}: {where}: {problem} (expected as this suite's pytest --benchmark-json writes it; "
            "nothing was written)"
        )


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
