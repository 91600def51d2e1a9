"""Renders verdicts as the end-of-session table; it never decides anything."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from perf.core.compare import GIB
from perf.core.results import CaseResult, MetricComparison, Verdict, VerdictKind

_HEADER = ("verdict", "case", "time s", "baseline s", "ratio", "tol", "detects", "peak GiB", "baseline GiB")
_NOTHING_MEASURED: Mapping[str, CaseResult] = {}


def _metric(verdict: Verdict, name: str) -> MetricComparison | None:
    return next((c for c in verdict.comparisons if c.metric == name), None)


def _numbers(verdict: Verdict, measured: CaseResult | None) -> dict[str, str] | None:
    """The number cells of a case by column title: compared, or measured alone (a NEW case: the baseline's cells
    empty); None for a case with neither (skipped, missing, out of memory)."""
    time, memory = _metric(verdict, "time"), _metric(verdict, "memory")
    if time is None:
        return _measured_numbers(measured)
    return {
        "time s": f"{time.measured:#.4g}",
        "baseline s": f"{time.baseline:#.4g}",
        "ratio": f"x{time.ratio:.3f}",
        "tol": f"+{time.tolerance:.0%}",
        "detects": f"+{time.detectable:.0%}",
        "peak GiB": f"{memory.measured:.2f}" if memory else "",
        "baseline GiB": f"{memory.baseline:.2f}" if memory else "",
    }


def _measured_numbers(measured: CaseResult | None) -> dict[str, str] | None:
    if measured is None or measured.timing is None:
        return None
    cells = dict.fromkeys(_HEADER[2:], "")
    cells["time s"] = f"{measured.timing.median_s:#.4g}"
    if measured.memory is not None:
        cells["peak GiB"] = f"{measured.memory.peak_allocated_bytes / GIB:.2f}"
    return cells


def _number_columns(verdicts: Sequence[Verdict]) -> tuple[str, ...]:
    """Every number column, less "detects" where it would only repeat "tol" (no case's noise limits it)."""
    noisy = any(c.metric == "time" and c.detectable > c.tolerance for v in verdicts for c in v.comparisons)
    return tuple(title for title in _HEADER[2:] if noisy or title != "detects")


def render_verdict_table(
    verdicts: Iterable[Verdict], measured: Mapping[str, CaseResult] = _NOTHING_MEASURED
) -> list[str]:
    """One line per case, regressions first. A case without a comparison shows what it measured (measured holds
    each case's result by case id), or, where it measured nothing, its reason instead of numbers.

    "detects" is the smallest slowdown each case could have flagged: its tolerance, or more where its rounds
    are too noisy for the rank test to confirm less. The column is left out when it equals "tol" for every case.
    """
    ordered = sorted(verdicts, key=lambda v: (v.kind.rank, v.case_id))
    if not ordered:
        return []
    titles = _number_columns(ordered)
    rows = []
    for verdict in ordered:
        numbers = _numbers(verdict, measured.get(verdict.case_id))
        cells = tuple(numbers[t] for t in titles) if numbers else (verdict.reason.split(": ", 1)[-1],)
        rows.append((verdict.kind.value.upper(), verdict.case_id, cells))
    kind_width = max(len(_HEADER[0]), *(len(kind) for kind, _, _ in rows))
    case_width = max(len(_HEADER[1]), *(len(case) for _, case, _ in rows))
    number_widths = [
        max([len(title)] + [len(cells[i]) for _, _, cells in rows if len(cells) > 1]) for i, title in enumerate(titles)
    ]
    lines = []
    for kind, case, cells in [(_HEADER[0], _HEADER[1], titles), *rows]:
        padded = (
            [cell.ljust(width) for cell, width in zip(cells, number_widths, strict=True)] if len(cells) > 1 else cells
        )
        lines.append(f"{kind:<{kind_width}}  {case:<{case_width}}  {'  '.join(padded)}".rstrip())
    return lines


def summarize_counts(verdicts: Iterable[Verdict]) -> str:
    counts: dict[str, int] = {}
    for verdict in verdicts:
        counts[verdict.kind.value] = counts.get(verdict.kind.value, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))


def render_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """Columns padded to their widest cell; the last column is left ragged."""
    table = [tuple(header), *(tuple(row) for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in table]


def render_markdown(
    verdicts: Iterable[Verdict], title: str, measured: Mapping[str, CaseResult] = _NOTHING_MEASURED
) -> list[str]:
    """The verdict table as GitHub-flavoured markdown (a job summary, a PR comment): the same cells as the
    terminal table, every case's reason in its last column, regressions first."""
    ordered = sorted(verdicts, key=lambda v: (v.kind.rank, v.case_id))
    titles = _number_columns(ordered)
    lines = [f"### {title}", "", summarize_counts(ordered) or "no cases ran", ""]
    if not ordered:
        return lines
    lines += ["| " + " | ".join((*_HEADER[:2], *titles, "reason")) + " |", "|" + "---|" * (len(titles) + 3)]
    for verdict in ordered:
        numbers = _numbers(verdict, measured.get(verdict.case_id)) or {}
        cells = (verdict.kind.value.upper(), f"`{verdict.case_id}`", *(numbers.get(t, "") for t in titles))
        reason = verdict.reason.split(": ", 1)[-1].replace("|", "\\|")
        lines.append("| " + " | ".join((*cells, reason)) + " |")
    return lines


def github_annotations(verdicts: Iterable[Verdict]) -> list[str]:
    """One `::error` workflow command per failing case (REGRESSION, WRONG), so the check names them; GitHub reads
    these from a step's output. Newlines and percent signs are escaped as the command syntax requires."""
    failing = {VerdictKind.REGRESSION, VerdictKind.WRONG}
    return [
        f"::error title=vggt-perf {verdict.kind.value.upper()} {verdict.case_id}::{_escape_command(verdict.reason)}"
        for verdict in sorted(verdicts, key=lambda v: (v.kind.rank, v.case_id))
        if verdict.kind in failing
    ]


def _escape_command(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
