"""Renders verdicts as the end-of-session table; it never decides anything."""

from __future__ import annotations

from collections.abc import Iterable

from perf.results import MetricComparison, Verdict

_HEADER = ("verdict", "case", "time s", "baseline s", "ratio", "tol", "peak GiB", "baseline GiB")


def _metric(verdict: Verdict, name: str) -> MetricComparison | None:
    return next((c for c in verdict.comparisons if c.metric == name), None)


def _row(verdict: Verdict) -> tuple[str, ...]:
    time, memory = _metric(verdict, "time"), _metric(verdict, "memory")
    if time is None:
        note = verdict.reason.split(": ", 1)[-1]
        return (verdict.kind.value.upper(), verdict.case_id, note, "", "", "", "", "")
    return (
        verdict.kind.value.upper(),
        verdict.case_id,
        f"{time.measured:.4f}",
        f"{time.baseline:.4f}",
        f"x{time.ratio:.3f}",
        f"+{time.tolerance:.0%}",
        f"{memory.measured:.2f}" if memory else "",
        f"{memory.baseline:.2f}" if memory else "",
    )


def render_verdict_table(verdicts: Iterable[Verdict]) -> list[str]:
    """One line per case, regressions first; a row without a comparison shows its reason instead."""
    ordered = sorted(verdicts, key=lambda v: (v.kind.rank, v.case_id))
    if not ordered:
        return []
    rows = [_HEADER, *(_row(v) for v in ordered)]
    widths = [max(len(row[i]) for row in rows if not (row[3] == "" and i == 2)) for i in range(len(_HEADER))]
    lines = []
    for row in rows:
        if row[3] == "" and row is not _HEADER:  # reason rows run past the numeric columns
            lines.append(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}")
        else:
            lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return lines


def summarize_counts(verdicts: Iterable[Verdict]) -> str:
    counts: dict[str, int] = {}
    for verdict in verdicts:
        counts[verdict.kind.value] = counts.get(verdict.kind.value, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
