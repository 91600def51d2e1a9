"""What `python -m perf baseline update --from-json` says of each converted file."""

from __future__ import annotations

from collections.abc import Sequence

from perf.core.conversion import Conversion
from perf.core.stats import between_run_spread


def render_conversion(conversion: Conversion) -> list[str]:
    """One line per written entry and per skipped benchmark, under a line naming the file and its run."""
    lines = [
        f"{conversion.path}: run {conversion.run.measured_at}, {len(conversion.entries)} entries, "
        f"{len(conversion.skipped)} skipped"
    ]
    for entry in conversion.entries:
        timing = entry.timing
        lines.append(
            f"  wrote {entry.key.case_id}: median {timing.median_s:#.4g} s over {timing.rounds} rounds"
            f"{_processes(entry.process_medians_s)}, IQR/median {timing.iqr_s / timing.median_s:.1%}, "
            f"tolerance time +{entry.time_tolerance:.0%} memory +{entry.memory_tolerance:.0%}"
        )
    lines += [f"  skipped {skip.case_id}: {skip.reason}" for skip in conversion.skipped]
    return lines


def _processes(medians_s: Sequence[float]) -> str:
    if len(medians_s) < 2:
        return " of one process"
    low, high = min(medians_s), max(medians_s)
    return (
        f" of {len(medians_s)} processes (medians {low:#.4g}-{high:#.4g} s, "
        f"sd {between_run_spread(medians_s):.1%} between them)"
    )
