"""The lines the suite adds to pytest's header: device, baseline file, profile, and which backends run here."""

from __future__ import annotations

from perf.hardware.device import reduced_precision
from perf.pytest_plugin.state import SuiteState


def header_lines(state: SuiteState) -> list[str]:
    return [
        f"vggt-perf: {state.device['name']} (baseline {state.baseline_path}), profile {state.profile}, "
        f"{len(state.cases)} cases",
        backends_line(state),
    ]


def backends_line(state: SuiteState) -> str:
    """Which of this run's backends run here, by library version; `python -m perf backends` says why not."""
    device = state.runtime.device
    dtype = reduced_precision(device)
    selected = [state.backends[name] for name in dict.fromkeys(case.backend for case in state.cases)]
    reasons = {b.name: b.unavailable_reason(device, dtype) for b in selected}
    runs = [f"{b.name} ({b.distribution} {b.version()})" for b in selected if not reasons[b.name]]
    unavailable = [b.name for b in selected if reasons[b.name]]
    line = f"vggt-perf backends: {', '.join(runs) or 'none'} run here"
    return line + (f"; {', '.join(unavailable)} do not (python -m perf backends says why)" if unavailable else "")
