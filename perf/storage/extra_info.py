"""The suite's record of a case in pytest-benchmark's `extra_info`: written and read back in this one place.

--benchmark-json files carry it; `python -m perf baseline update --from-json` turns it back into entries.
"""

from __future__ import annotations

from typing import Any

from perf.core.conversion import SuiteBenchmark
from perf.core.results import CaseKey, CaseResult, Evidence, Memory, Outcome, Resolution, Timing
from perf.storage.field_reader import FieldReader

# The key that marks a benchmark as this suite's: other plugins' benchmarks in the same file have none.
WORKLOAD_KEY = "workload"


def to_extra_info(result: CaseResult, measured_backend: str, device_slug: str) -> dict[str, Any]:
    """What a measured case adds to its benchmark's extra_info (JSON values only)."""
    key, memory, clocks = result.key, result.memory, result.clocks
    return {
        WORKLOAD_KEY: key.workload,
        "backend": key.backend,
        "measured_backend": measured_backend,
        "frames": key.frames,
        "height": key.resolution.height,
        "width": key.resolution.width,
        "dtype": result.dtype,
        "device": device_slug,
        "outcome": result.outcome.value,
        "reason": result.reason,
        "peak_memory_bytes": memory.peak_allocated_bytes if memory else None,
        "peak_reserved_bytes": memory.peak_reserved_bytes if memory else None,
        "attention_kernel": result.evidence.attention_kernel,
        "relative_error": result.evidence.relative_error,
        "compile_s": result.evidence.compile_s,
        "rounds_ended_by": result.rounds_ended_by,
        "clock_samples": clocks.samples,
        "limited_samples": clocks.limited_samples,
        "power_capped_samples": clocks.power_capped_samples,
        "clock_deficit": clocks.clock_deficit,
        "throttle_reasons": list(clocks.reasons),
        "sm_clock_min_mhz": clocks.sm_clock_min_mhz,
        "sm_clock_max_mhz": clocks.sm_clock_max_mhz,
        "sm_clock_mean_mhz": clocks.sm_clock_mean_mhz,
        "suspect": clocks.suspect,
    }


def outcome_of(read: FieldReader, extra: Any, where: str) -> Outcome:
    """The recorded outcome: only an ok case has timed rounds to read."""
    raw_outcome = read.text(extra, "outcome", where)
    try:
        return Outcome(raw_outcome)
    except ValueError:
        raise read.fail(f"{where}.outcome", f"{raw_outcome!r} is none of {[o.value for o in Outcome]}") from None


def from_extra_info(read: FieldReader, extra: Any, where: str, timing: Timing | None) -> SuiteBenchmark:
    """The benchmark that to_extra_info recorded, every field checked; timing is read from its stats by the caller
    (where the outcome is ok). Fields that later versions added are optional."""
    key = CaseKey(
        read.text(extra, WORKLOAD_KEY, where),
        read.text(extra, "backend", where),
        read.count(extra, "frames", where, minimum=1),
        Resolution(read.count(extra, "height", where, minimum=1), read.count(extra, "width", where, minimum=1)),
    )
    outcome = outcome_of(read, extra, where)
    ok = outcome is Outcome.OK
    evidence = Evidence(
        read.optional(extra, "attention_kernel", read.text, where, ""),
        read.optional(extra, "relative_error", read.number, where, None),
        read.optional(extra, "compile_s", read.number, where, 0.0),
    )
    return SuiteBenchmark(
        key,
        read.text(extra, "measured_backend", where),
        read.text(extra, "device", where),
        outcome,
        read.optional(extra, "reason", read.text, where, ""),
        read.text(extra, "dtype", where),
        timing if ok else None,
        _memory(read, extra, where) if ok else None,
        evidence if ok else Evidence(),
        read.optional(extra, "suspect", read.text, where, "") if ok else "",
    )


def _memory(read: FieldReader, extra: Any, where: str) -> Memory | None:
    peaks = [
        None if read.get(extra, name, (int, type(None)), where) is None else read.count(extra, name, where)
        for name in ("peak_memory_bytes", "peak_reserved_bytes")
    ]
    if peaks[0] is None or peaks[1] is None:
        if peaks[0] is not None or peaks[1] is not None:
            raise read.fail(f"{where}.peak_reserved_bytes", "must be null exactly where peak_memory_bytes is")
        return None
    return Memory(peaks[0], peaks[1])
