"""The verdict of a paired case with the suite's own statistics, head judged against base as a run against its
baseline entry; and what else the run says in words (the environments' differences, a trial's label). Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from perf.core.compare import compare_time, describe
from perf.core.environment_diff import FieldDifference, environment_differences
from perf.core.results import Verdict, VerdictKind
from perf.core.stats import summarize_rounds
from perf.core.tolerance import Regime, time_tolerance_for

HEADER = "paired: head vs base, each line 'time HEAD s vs baseline BASE s (head/base, tolerance)'"


def paired_verdict(
    case_id: str,
    base_s: Sequence[float],
    head_s: Sequence[float],
    regimes: Sequence[Regime],
    least_tolerance: float,
) -> Verdict:
    """Head's rounds against base's as the gate compares a run with its entry: the medians' ratio against base's
    tolerance (time_tolerance_for: the least tolerance, widened by base's noise and its workload's regimes), backed
    by the rank test of both sides' rounds."""
    base, head = summarize_rounds(base_s), summarize_rounds(head_s)
    comparison = compare_time(head, base, time_tolerance_for(base, regimes, least_tolerance))
    return Verdict(case_id, comparison.kind, describe(case_id, comparison), (comparison,))


def skipped_verdict(case_id: str, reasons: Mapping[str, str]) -> Verdict:
    """A case one side or both cannot run: each side's reason, by side name."""
    said = "; ".join(f"{side}: {reason}" for side, reason in reasons.items())
    return Verdict(case_id, VerdictKind.SKIPPED, f"{case_id}: skipped ({said})")


def verdict_line(verdict: Verdict) -> str:
    return f"{verdict.kind.value.upper()} {verdict.reason}"


def exit_code(verdicts: Sequence[Verdict]) -> int:
    """1 when a case regressed, else 0 (a skip or an improvement fails nothing)."""
    return 1 if any(v.kind is VerdictKind.REGRESSION for v in verdicts) else 0


def environment_lines(base: Mapping[str, str], head: Mapping[str, str]) -> list[str]:
    """The fields whose values differ between the workers, one line (none when they agree): reported, not refused,
    since what differs is what a paired run compares (vggt, torch, an attention library)."""
    differences = environment_differences(base, head)
    if not differences:
        return []
    fields = "; ".join(f"{d.field} {d.baseline} -> {d.run}" for d in differences)
    return [f"paired: the environments differ (base -> head, what this run compares): {fields}"]


def difference_records(base: Mapping[str, str], head: Mapping[str, str]) -> list[dict[str, str]]:
    """The same differences for the JSON file."""
    return [_record(d) for d in environment_differences(base, head)]


def _record(difference: FieldDifference) -> dict[str, str]:
    return {"field": difference.field, "base": difference.baseline, "head": difference.run}


def trial_label(slowdown: float) -> str:
    """'trial: head slowed by 3 %': said wherever a sensitivity trial's verdicts appear, '' for a real run."""
    return f"trial: head slowed by {slowdown * 100:g} %" if slowdown else ""
