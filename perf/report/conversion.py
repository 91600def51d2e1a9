"""What `python -m perf baseline update --from-json` says of each converted file."""

from __future__ import annotations

from perf.core.conversion import Conversion


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
