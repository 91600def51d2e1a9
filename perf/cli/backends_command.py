"""`python -m perf backends`: every registered attention backend on this machine, and why one cannot run."""

from __future__ import annotations

from perf.backends.registry import BACKENDS
from perf.hardware.device import reduced_precision, select_device
from perf.hardware.fingerprint import describe_device
from perf.report.verdicts import render_table


def backends_table() -> list[str]:
    """Every registered backend on this machine's device: library, version, whether it runs and why not."""
    device = select_device()
    dtype = reduced_precision(device)
    rows = []
    for backend in BACKENDS.values():
        reason = backend.unavailable_reason(device, dtype)
        rows.append(
            (
                backend.name,
                backend.distribution,
                backend.version() or "-",
                "unavailable" if reason else "available",
                reason or "",
            )
        )
    header = f"attention backends on {describe_device(device)['name']} ({device.type}, {dtype})"
    return [header, *render_table(("backend", "library", "version", "status", "reason"), rows)]
