"""`python -m perf …`: thin commands over the functions the pytest plugin uses."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from perf.backends import BACKENDS
from perf.device import reduced_precision, select_device
from perf.env import describe_device
from perf.report import render_table


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perf", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("backends", help="list the attention backends with their status on this machine")
    parser.parse_args(argv)
    print("\n".join(backends_table()))
    return 0
