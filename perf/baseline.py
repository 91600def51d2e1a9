"""The only code that reads or writes baselines/<gpu-slug>.json: schema, validation, merge, atomic update."""

from __future__ import annotations

import json
import math
import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from filelock import FileLock

from perf.results import CaseKey, Evidence, Memory, Resolution, Timing
from perf.stats import Regime, time_tolerance_for

SCHEMA_VERSION = 1


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


@dataclass(frozen=True)
class Baseline:
    device: Mapping[str, str]
    runs: Mapping[str, RunInfo] = field(default_factory=dict)
    entries: Mapping[str, BaselineEntry] = field(default_factory=dict)


def new_entry(
    key: CaseKey,
    dtype: str,
    timing: Timing,
    memory: Memory | None,
    evidence: Evidence,
    *,
    least_time_tolerance: float,
    memory_tolerance: float,
    regimes: Sequence[Regime],
) -> BaselineEntry:
    """An entry as an update writes it: its time tolerance widened by its rounds' noise and regime (perf.stats);
    merge sets its run."""
    time_tolerance = time_tolerance_for(timing, regimes, least_time_tolerance)
    return BaselineEntry(key, dtype, timing, memory, time_tolerance, memory_tolerance, run="", evidence=evidence)


def retolerated(baseline: Baseline, regimes: Mapping[str, Sequence[Regime]], least_time_tolerance: float) -> Baseline:
    """Every entry of a registered workload with its time tolerance recomputed by the current policy from its own
    recorded rounds, as an update would write it now (pure); timings, memory and runs are untouched."""
    entries = {
        case_id: replace(
            entry,
            time_tolerance=time_tolerance_for(entry.timing, regimes[entry.key.workload], least_time_tolerance),
        )
        if entry.key.workload in regimes
        else entry
        for case_id, entry in baseline.entries.items()
    }
    return replace(baseline, entries=entries)


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


def to_json(baseline: Baseline) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "device": dict(baseline.device),
        "runs": {
            run_id: {"measured_at": run.measured_at, "command": run.command, "environment": dict(run.environment)}
            for run_id, run in sorted(baseline.runs.items())
        },
        "entries": {case_id: _entry_to_json(entry) for case_id, entry in sorted(baseline.entries.items())},
    }


def _entry_to_json(entry: BaselineEntry) -> dict[str, Any]:
    memory = entry.memory
    # Written only where there are samples: rewriting an older file leaves its sample-less entries untouched.
    samples = {"samples_s": list(entry.timing.samples_s)} if entry.timing.samples_s else {}
    return {
        "workload": entry.key.workload,
        "backend": entry.key.backend,
        "frames": entry.key.frames,
        "height": entry.key.resolution.height,
        "width": entry.key.resolution.width,
        "dtype": entry.dtype,
        "median_s": entry.timing.median_s,
        "iqr_s": entry.timing.iqr_s,
        "min_s": entry.timing.min_s,
        "max_s": entry.timing.max_s,
        "rounds": entry.timing.rounds,
        **samples,
        "peak_memory_bytes": memory.peak_allocated_bytes if memory else None,
        "peak_reserved_bytes": memory.peak_reserved_bytes if memory else None,
        "time_tolerance": entry.time_tolerance,
        "memory_tolerance": entry.memory_tolerance,
        "attention_kernel": entry.evidence.attention_kernel,
        "relative_error": entry.evidence.relative_error,
        "compile_s": entry.evidence.compile_s,
        "run": entry.run,
    }


class _Reader:
    """Typed field access that turns any shape problem into one BaselineError naming the field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> BaselineError:
        return BaselineError(
            f"{self.path}: {where}: {problem} (fix the field, or restore the file with git; it was not modified)"
        )

    def get(self, obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
        if not isinstance(obj, dict):
            raise self.fail(where, "expected an object")
        if key not in obj:
            raise self.fail(f"{where}.{key}", "missing")
        value = obj[key]
        if (kind in (int, float, (int, float)) and isinstance(value, bool)) or not isinstance(value, kind):
            raise self.fail(f"{where}.{key}", f"expected {_kind_name(kind)}, got {type(value).__name__}")
        return value

    def optional(self, obj: Any, key: str, read: Callable[[Any, str, str], Any], where: str, default: Any) -> Any:
        """A field later schema additions made optional: absent or null is the default, else read it strictly."""
        if isinstance(obj, dict) and obj.get(key) is None:
            return default
        return read(obj, key, where)

    def text(self, obj: Any, key: str, where: str) -> str:
        return self.get(obj, key, str, where)

    def number(self, obj: Any, key: str, where: str, minimum: float = 0.0) -> float:
        raw = self.get(obj, key, (int, float), where)
        value = math.inf if isinstance(raw, int) and abs(raw) >= 1e300 else float(raw)  # float() of 10**400 raises
        if not math.isfinite(value) or value < minimum:
            raise self.fail(f"{where}.{key}", f"expected a finite number >= {minimum}, got {value}")
        return value

    def count(self, obj: Any, key: str, where: str, minimum: int = 0) -> int:
        value = int(self.get(obj, key, int, where))
        if value < minimum:
            raise self.fail(f"{where}.{key}", f"expected an integer >= {minimum}, got {value}")
        return value

    def samples(self, obj: Any, key: str, where: str) -> tuple[float, ...]:
        """Round seconds: a list of finite numbers >= 0, each checked by number() under its name, e.g. samples_s[3]."""
        values = self.get(obj, key, list, where)
        return tuple(self.number({f"{key}[{i}]": value}, f"{key}[{i}]", where) for i, value in enumerate(values))

    def strings(self, obj: Any, where: str) -> dict[str, str]:
        if not isinstance(obj, dict) or not all(isinstance(v, str) for v in obj.values()):
            raise self.fail(where, "expected an object of strings")
        return dict(obj)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {"dict": "an object", "list": "a list", "str": "a string", "int": "an integer", "float": "a number"}
    return " or ".join(names.get(k.__name__, k.__name__) for k in kinds)


def from_json(document: Any, path: Path) -> Baseline:
    """Validate a parsed document completely; any problem raises BaselineError and nothing else."""
    read = _Reader(path)
    version = read.get(document, "schema_version", int, "file")
    if version != SCHEMA_VERSION:
        raise read.fail("schema_version", f"is {version}, this vggt-perf reads {SCHEMA_VERSION}")
    device = read.strings(read.get(document, "device", dict, "file"), "device")
    runs = {}
    for run_id, run in read.get(document, "runs", dict, "file").items():
        where = f"runs.{run_id}"
        runs[run_id] = RunInfo(
            read.get(run, "measured_at", str, where),
            read.get(run, "command", str, where),
            read.strings(read.get(run, "environment", dict, where), f"{where}.environment"),
        )
    entries = {}
    for case_id, raw in read.get(document, "entries", dict, "file").items():
        entry = _entry_from_json(read, raw, f"entries.{case_id}")
        if entry.key.case_id != case_id:
            raise read.fail(f"entries.{case_id}", f"fields describe case {entry.key.case_id}")
        if entry.run not in runs:
            raise read.fail(f"entries.{case_id}.run", f"names run {entry.run!r}, which is not under 'runs'")
        entries[case_id] = entry
    return Baseline(device, runs, entries)


def _entry_from_json(read: _Reader, raw: Any, where: str) -> BaselineEntry:
    key = CaseKey(
        read.get(raw, "workload", str, where),
        read.get(raw, "backend", str, where),
        read.count(raw, "frames", where, minimum=1),
        Resolution(read.count(raw, "height", where, minimum=1), read.count(raw, "width", where, minimum=1)),
    )
    timing = Timing(
        median_s=read.number(raw, "median_s", where, minimum=1e-12),
        iqr_s=read.number(raw, "iqr_s", where),
        min_s=read.number(raw, "min_s", where),
        max_s=read.number(raw, "max_s", where),
        rounds=read.count(raw, "rounds", where, minimum=1),
        samples_s=read.optional(raw, "samples_s", read.samples, where, ()),
    )
    if timing.samples_s and len(timing.samples_s) != timing.rounds:
        raise read.fail(f"{where}.samples_s", f"holds {len(timing.samples_s)} rounds, rounds says {timing.rounds}")
    peaks = [
        None if read.get(raw, name, (int, type(None)), where) is None else read.count(raw, name, where)
        for name in ("peak_memory_bytes", "peak_reserved_bytes")
    ]
    if (peaks[0] is None) != (peaks[1] is None):
        raise read.fail(f"{where}.peak_reserved_bytes", "must be null exactly where peak_memory_bytes is")
    memory = None if peaks[0] is None or peaks[1] is None else Memory(peaks[0], peaks[1])
    return BaselineEntry(
        key,
        read.get(raw, "dtype", str, where),
        timing,
        memory,
        read.number(raw, "time_tolerance", where),
        read.number(raw, "memory_tolerance", where),
        read.get(raw, "run", str, where),
        Evidence(
            read.optional(raw, "attention_kernel", read.text, where, ""),
            read.optional(raw, "relative_error", read.number, where, None),
            read.optional(raw, "compile_s", read.number, where, 0.0),
        ),
    )


def load_baseline(path: Path) -> Baseline | None:
    """The validated baseline at path, or None where no file exists yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise BaselineError(f"{path}: cannot be read ({error}); check the file and its permissions") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise BaselineError(
            f"{path}: not valid JSON at line {error.lineno} column {error.colno} ({error.msg}); "
            "restore the file with git; it was not modified"
        ) from None
    except (ValueError, RecursionError) as error:  # an integer beyond the digit limit, nesting beyond the stack
        raise BaselineError(
            f"{path}: not valid JSON ({str(error).splitlines()[0]}); restore the file with git; it was not modified"
        ) from None
    return from_json(document, path)


def render_json(value: Any, depth: int = 0) -> str:
    """json.dumps(value, indent=2), except that lists stay on one line: 100 round samples are one line, not 100."""
    if not isinstance(value, dict) or not value:
        return json.dumps(value)
    inner = "  " * (depth + 1)
    members = ",\n".join(f"{inner}{json.dumps(key)}: {render_json(item, depth + 1)}" for key, item in value.items())
    return "{\n" + members + "\n" + "  " * depth + "}"


def write_atomically(path: Path, baseline: Baseline) -> None:
    """The baseline as JSON, through write_text_atomically."""
    write_text_atomically(path, render_json(to_json(baseline)) + "\n")


def write_text_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside path, fsync, then rename over it: readers see old or new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            os.fchmod(stream.fileno(), _mode_for(path))  # mkstemp makes 0600; keep the file readable as before
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _mode_for(path: Path) -> int:
    """The permission bits of the file being replaced, or what a plain open() would give a new one."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def update_baseline(
    path: Path, device: Mapping[str, str], entries: Iterable[BaselineEntry], run_id: str, run: RunInfo
) -> Baseline:
    """Read, merge and write under a file lock, so concurrent updates lose nothing.

    A file that fails validation raises BaselineError before anything is written: it is never overwritten.
    A write that fails (read-only checkout, full disk) raises BaselineError too and leaves the file as it was.
    """
    try:
        with FileLock(f"{path}.lock"):
            existing = load_baseline(path) or Baseline(device)
            if existing.device.get("slug") != device.get("slug"):
                raise BaselineError(
                    f"{path}: holds device {existing.device.get('slug')!r}, this run measured "
                    f"{device.get('slug')!r}; pass --baseline-file for this device's own file"
                )
            merged = merge(existing, entries, run_id, run)
            write_atomically(path, merged)
            return merged
    except OSError as error:
        raise BaselineError(f"{path}: cannot be written ({error}); the file was not modified") from None


def remove_entries(path: Path, case_ids: Iterable[str]) -> Baseline:
    """Drop the named entries and the runs no remaining entry refers to, under the same lock as update_baseline.

    Ids not in the file are ignored; where none is, nothing is written. A missing or invalid file raises
    BaselineError before anything is written, and so does a write that fails.
    """
    doomed = set(case_ids)

    def without(existing: Baseline) -> Baseline:
        entries = {case_id: e for case_id, e in existing.entries.items() if case_id not in doomed}
        used = {entry.run for entry in entries.values()}
        return Baseline(existing.device, {k: v for k, v in existing.runs.items() if k in used}, entries)

    return rewrite(path, without)


def rewrite(path: Path, change: Callable[[Baseline], Baseline]) -> Baseline:
    """Read, change and write an existing file under the same lock as update_baseline; written only where the
    change changed something. A missing or invalid file raises BaselineError before anything is written, and so
    does a write that fails."""
    try:
        with FileLock(f"{path}.lock"):
            existing = load_baseline(path)
            if existing is None:
                raise BaselineError(f"{path}: no such baseline file; check the path")
            changed = change(existing)
            if changed != existing:
                write_atomically(path, changed)
            return changed
    except OSError as error:
        raise BaselineError(f"{path}: cannot be written ({error}); the file was not modified") from None
