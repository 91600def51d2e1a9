"""The baseline file's JSON form: to_json and from_json (every field validated), and how it is laid out as text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from perf.core.baselines import Baseline, BaselineEntry, RunInfo
from perf.core.results import CaseKey, Evidence, Memory, Resolution, Timing
from perf.storage.field_reader import FieldReader

SCHEMA_VERSION = 1


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


def from_json(document: Any, path: Path) -> Baseline:
    """Validate a parsed document completely; any problem raises BaselineError and nothing else."""
    read = FieldReader(path)
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


def _entry_from_json(read: FieldReader, raw: Any, where: str) -> BaselineEntry:
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


def render_json(value: Any, depth: int = 0) -> str:
    """json.dumps(value, indent=2), except that lists stay on one line: 100 round samples are one line, not 100."""
    if not isinstance(value, dict) or not value:
        return json.dumps(value)
    inner = "  " * (depth + 1)
    members = ",\n".join(f"{inner}{json.dumps(key)}: {render_json(item, depth + 1)}" for key, item in value.items())
    return "{\n" + members + "\n" + "  " * depth + "}"
