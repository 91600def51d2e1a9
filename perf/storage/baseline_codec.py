"""The baseline file's JSON form: to_json and from_json (every field validated), and how it is laid out as text.

Each run and entry field is declared once, in RUN_FIELDS and ENTRY_FIELDS: its name and place in the file, its JSON
type and bounds, whether older files may lack it. The writer, the reader's checks and the JSON Schema
(perf.storage.baseline_schema, docs/baseline.schema.json) all follow these tables.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from perf.core.baselines import Baseline, BaselineEntry, RunInfo
from perf.core.results import CaseKey, Evidence, Memory, Resolution, Timing
from perf.storage.field_reader import FieldReader

SCHEMA_VERSION = 1
MIN_MEDIAN_S = 1e-12  # a median of 0 would make every measurement an infinite regression
S = TypeVar("S")


class Kind(enum.Enum):
    """A field's JSON type, as FieldReader reads it: TEXT, COUNT (an integer), NUMBER (finite), SAMPLES (a list of
    finite numbers >= 0), STRINGS (an object of strings)."""

    TEXT = "string"
    COUNT = "integer"
    NUMBER = "number"
    SAMPLES = "array"
    STRINGS = "object"


_NULLABLE_KINDS = {Kind.TEXT: str, Kind.COUNT: int}  # one Python type each, so "X or null" is one get()


@dataclass(frozen=True)
class Field(Generic[S]):
    """One field of a run (S = RunInfo) or an entry (S = BaselineEntry)."""

    name: str
    kind: Kind
    value: Callable[[S], Any]  # the field's JSON value, taken from what it describes
    description: str
    minimum: float = 0  # COUNT and NUMBER (the samples of SAMPLES) are at least this
    nullable: bool = False  # always present, null where nothing was measured
    optional: bool = False  # added by a later version: absent or null reads as default
    default: Any = None
    omit_empty: bool = False  # not written where empty, so rewriting an older file leaves its entries as they were

    def __post_init__(self) -> None:
        if self.nullable and self.kind not in _NULLABLE_KINDS:
            raise ValueError(f"{self.name}: a nullable field is TEXT or COUNT")


def _memory(entry: BaselineEntry, allocated: bool) -> int | None:
    memory = entry.memory
    if memory is None:
        return None
    return memory.peak_allocated_bytes if allocated else memory.peak_reserved_bytes


RUN_FIELDS: tuple[Field[RunInfo], ...] = (
    Field("measured_at", Kind.TEXT, lambda run: run.measured_at, "When the run started: UTC, ISO 8601."),
    Field("command", Kind.TEXT, lambda run: run.command, "The command line that measured the run's entries."),
    Field("environment", Kind.STRINGS, lambda run: dict(run.environment), "The run's environment fingerprint."),
)
# Null together or not at all: memory is measured (GPU) or not (CPU).
MEMORY_FIELDS = ("peak_memory_bytes", "peak_reserved_bytes")
ENTRY_FIELDS: tuple[Field[BaselineEntry], ...] = (
    Field("workload", Kind.TEXT, lambda e: e.key.workload, "What runs: a registered workload."),
    Field("backend", Kind.TEXT, lambda e: e.key.backend, "How attention runs: a registered backend."),
    Field("frames", Kind.COUNT, lambda e: e.key.frames, "Input frames.", minimum=1),
    Field("height", Kind.COUNT, lambda e: e.key.resolution.height, "Input height in pixels.", minimum=1),
    Field("width", Kind.COUNT, lambda e: e.key.resolution.width, "Input width in pixels.", minimum=1),
    Field("dtype", Kind.TEXT, lambda e: e.dtype, "The compute dtype, e.g. bf16."),
    Field("median_s", Kind.NUMBER, lambda e: e.timing.median_s, "Median round, seconds.", minimum=MIN_MEDIAN_S),
    Field("iqr_s", Kind.NUMBER, lambda e: e.timing.iqr_s, "Interquartile range of the rounds, seconds."),
    Field("min_s", Kind.NUMBER, lambda e: e.timing.min_s, "Fastest round, seconds."),
    Field("max_s", Kind.NUMBER, lambda e: e.timing.max_s, "Slowest round, seconds."),
    Field("rounds", Kind.COUNT, lambda e: e.timing.rounds, "Timed rounds.", minimum=1),
    Field(
        "samples_s",
        Kind.SAMPLES,
        lambda e: list(e.timing.samples_s),
        "Every round, seconds, in the order run; as many as rounds. Absent in entries recorded without them.",
        optional=True,
        default=(),
        omit_empty=True,
    ),
    Field(
        "peak_memory_bytes",
        Kind.COUNT,
        lambda e: _memory(e, True),
        "Peak memory allocated, bytes; null where unmeasured (CPU).",
        nullable=True,
    ),
    Field(
        "peak_reserved_bytes",
        Kind.COUNT,
        lambda e: _memory(e, False),
        "Peak memory the allocator reserved, bytes; null exactly where peak_memory_bytes is.",
        nullable=True,
    ),
    Field("time_tolerance", Kind.NUMBER, lambda e: e.time_tolerance, "Allowed slowdown of the median, a fraction."),
    Field("memory_tolerance", Kind.NUMBER, lambda e: e.memory_tolerance, "Allowed growth of peak memory, a fraction."),
    Field(
        "attention_kernel",
        Kind.TEXT,
        lambda e: e.evidence.attention_kernel,
        "The fused attention kernel with the most device time; empty for none.",
        optional=True,
        default="",
    ),
    Field(
        "relative_error",
        Kind.NUMBER,
        lambda e: e.evidence.relative_error,
        "Output against its reference; null: unchecked.",
        optional=True,
        default=None,
    ),
    Field(
        "compile_s",
        Kind.NUMBER,
        lambda e: e.evidence.compile_s,
        "One-off compilation during warm-up, seconds.",
        optional=True,
        default=0.0,
    ),
    Field(
        "process_medians_s",
        Kind.SAMPLES,
        lambda e: list(e.process_medians_s),
        "The median of each independent process that recorded the entry, seconds, in the order they ran (at least "
        "two); the entry's timing pools them: median_s is their median, samples_s all their rounds. Absent in an "
        "entry of one process.",
        minimum=MIN_MEDIAN_S,
        optional=True,
        default=(),
        omit_empty=True,
    ),
    Field("run", Kind.TEXT, lambda e: e.run, "The id of the run under 'runs' that measured the entry."),
)


def to_json(baseline: Baseline) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "device": dict(baseline.device),
        "runs": {run_id: _write(RUN_FIELDS, run) for run_id, run in sorted(baseline.runs.items())},
        "entries": {case_id: _write(ENTRY_FIELDS, entry) for case_id, entry in sorted(baseline.entries.items())},
    }


def _write(fields: Sequence[Field[S]], source: S) -> dict[str, Any]:
    values = ((field, field.value(source)) for field in fields)
    return {field.name: value for field, value in values if value or not field.omit_empty}


def from_json(document: Any, path: Path) -> Baseline:
    """Validate a parsed document completely; any problem raises BaselineError and nothing else."""
    read = FieldReader(path)
    version = read.get(document, "schema_version", int, "file")
    if version != SCHEMA_VERSION:
        raise read.fail("schema_version", f"is {version}, this vggt-perf reads {SCHEMA_VERSION}")
    device = read.strings(read.get(document, "device", dict, "file"), "device")
    runs = {}
    for run_id, raw_run in read.get(document, "runs", dict, "file").items():
        run = _read(read, RUN_FIELDS, raw_run, f"runs.{run_id}")
        runs[run_id] = RunInfo(run["measured_at"], run["command"], run["environment"])
    entries = {}
    for case_id, raw in read.get(document, "entries", dict, "file").items():
        entry = _entry_from_json(read, raw, f"entries.{case_id}")
        if entry.key.case_id != case_id:
            raise read.fail(f"entries.{case_id}", f"fields describe case {entry.key.case_id}")
        if entry.run not in runs:
            raise read.fail(f"entries.{case_id}.run", f"names run {entry.run!r}, which is not under 'runs'")
        entries[case_id] = entry
    return Baseline(device, runs, entries)


def _entry_from_json(read: FieldReader, raw: Any, where: str) -> BaselineEntry:
    v = _read(read, ENTRY_FIELDS, raw, where)
    if v["samples_s"] and len(v["samples_s"]) != v["rounds"]:
        raise read.fail(f"{where}.samples_s", f"holds {len(v['samples_s'])} rounds, rounds says {v['rounds']}")
    if any(median < MIN_MEDIAN_S for median in v["process_medians_s"]):
        raise read.fail(f"{where}.process_medians_s", f"holds a median below {MIN_MEDIAN_S:g} s")
    allocated, reserved = (v[name] for name in MEMORY_FIELDS)
    if (allocated is None) != (reserved is None):
        raise read.fail(f"{where}.{MEMORY_FIELDS[1]}", f"must be null exactly where {MEMORY_FIELDS[0]} is")
    return BaselineEntry(
        CaseKey(v["workload"], v["backend"], v["frames"], Resolution(v["height"], v["width"])),
        v["dtype"],
        Timing(v["median_s"], v["iqr_s"], v["min_s"], v["max_s"], v["rounds"], v["samples_s"]),
        None if allocated is None else Memory(allocated, reserved),
        v["time_tolerance"],
        v["memory_tolerance"],
        v["run"],
        Evidence(v["attention_kernel"], v["relative_error"], v["compile_s"]),
        tuple(v["process_medians_s"]) if len(v["process_medians_s"]) > 1 else (),  # one process: none to pool
    )


def _read(read: FieldReader, fields: Sequence[Field[Any]], raw: Any, where: str) -> dict[str, Any]:
    """Every field of one run or entry, in the table's order, each read as the table declares it."""
    values: dict[str, Any] = {}
    for field in fields:
        strict = _reader(read, field)
        if field.optional:
            values[field.name] = read.optional(raw, field.name, strict, where, field.default)
        elif field.nullable and read.get(raw, field.name, (_NULLABLE_KINDS[field.kind], type(None)), where) is None:
            values[field.name] = None
        else:
            values[field.name] = strict(raw, field.name, where)
    return values


def _reader(read: FieldReader, field: Field[Any]) -> Callable[[Any, str, str], Any]:
    """The FieldReader method that reads field's kind, with its minimum."""
    if field.kind is Kind.COUNT:
        return lambda obj, key, where: read.count(obj, key, where, minimum=int(field.minimum))
    if field.kind is Kind.NUMBER:
        return lambda obj, key, where: read.number(obj, key, where, minimum=float(field.minimum))
    if field.kind is Kind.SAMPLES:
        return read.samples
    if field.kind is Kind.STRINGS:
        return lambda obj, key, where: read.strings(read.get(obj, key, dict, where), f"{where}.{key}")
    return read.text


def render_json(value: Any, depth: int = 0) -> str:
    """json.dumps(value, indent=2), except that lists stay on one line: 100 round samples are one line, not 100."""
    if not isinstance(value, dict) or not value:
        return json.dumps(value)
    inner = "  " * (depth + 1)
    members = ",\n".join(f"{inner}{json.dumps(key)}: {render_json(item, depth + 1)}" for key, item in value.items())
    return "{\n" + members + "\n" + "  " * depth + "}"
