"""Pure comparison of measured cases with baseline entries into verdicts."""

from __future__ import annotations

from collections.abc import Iterable

from perf.core.baselines import BaselineEntry
from perf.core.results import CaseResult, MetricComparison, Outcome, Timing, Verdict, VerdictKind
from perf.core.stats import SIGNIFICANCE, detectable_slowdown, p_value_of_change, untested_reason

GIB = 1024**3


def classify(measured: float, baseline: float, tolerance: float, p_value: float | None = None) -> VerdictKind:
    """Slower than baseline x (1 + tolerance) regresses; faster than baseline / (1 + tolerance) improves.

    Decided on the ratio measured / baseline, the number every verdict line shows, so the two never disagree;
    p_value, the rank test's in the direction of the change, must also be below SIGNIFICANCE where there is one.
    A change beyond tolerance that is not significant passes: the rounds do not show it is more than noise.
    """
    ratio = measured / baseline
    if ratio > 1 + tolerance:
        kind = VerdictKind.REGRESSION
    elif ratio * (1 + tolerance) < 1:
        kind = VerdictKind.IMPROVED
    else:
        return VerdictKind.PASS
    return kind if p_value is None or p_value < SIGNIFICANCE else VerdictKind.PASS


def compare_time(measured: Timing, baseline: Timing, tolerance: float) -> MetricComparison:
    """Medians' ratio against the tolerance, backed by the rank test of the rounds where both sides have enough."""
    untested = untested_reason(measured, baseline)
    p_value = None if untested else p_value_of_change(measured, baseline)
    return MetricComparison(
        "time",
        "s",
        measured.median_s,
        baseline.median_s,
        tolerance,
        classify(measured.median_s, baseline.median_s, tolerance, p_value),
        detectable_slowdown(measured, baseline, tolerance),
        p_value,
        untested,
    )


def compare_metrics(result: CaseResult, entry: BaselineEntry) -> tuple[MetricComparison, ...]:
    """Time always (when measured); memory only where both sides measured GPU memory."""
    comparisons = []
    if result.timing is not None:
        comparisons.append(compare_time(result.timing, entry.timing, entry.time_tolerance))
    if result.memory is not None and entry.memory is not None and entry.memory.peak_allocated_bytes > 0:
        measured, baseline = result.memory.peak_allocated_bytes, entry.memory.peak_allocated_bytes
        comparisons.append(
            MetricComparison(
                "memory",
                "GiB",
                measured / GIB,
                baseline / GIB,
                entry.memory_tolerance,
                classify(measured, baseline, entry.memory_tolerance),
                entry.memory_tolerance,  # exact bytes, no noise: the tolerance is what it detects
            )
        )
    return tuple(comparisons)


def describe(case_id: str, *comparisons: MetricComparison) -> str:
    """One line: case, then for each metric measured vs baseline, ratio, tolerance."""
    return f"{case_id}: " + "; ".join(_describe_metric(comparison) for comparison in comparisons)


def _describe_metric(comparison: MetricComparison) -> str:
    number = "#.4g" if comparison.unit == "s" else ".2f"  # seconds span 1e-5 (CPU smoke) to 20 (200 frames)
    return (
        f"{comparison.metric} {comparison.measured:{number}} {comparison.unit} "
        f"vs baseline {comparison.baseline:{number}} {comparison.unit} "
        f"(x{comparison.ratio:.3f}, tolerance +{comparison.tolerance:.0%}{_statistics_note(comparison)})"
    )


def _statistics_note(comparison: MetricComparison) -> str:
    """Said only where the ratio is beyond tolerance and the test did not back it: a confirmed change needs no note."""
    if classify(comparison.measured, comparison.baseline, comparison.tolerance) is VerdictKind.PASS:
        return ""
    if comparison.untested:
        return f", ratio only: {comparison.untested}"
    if comparison.p_value is not None and comparison.kind is VerdictKind.PASS:
        direction = "slower" if comparison.ratio > 1 else "faster"
        return f", {direction} but not significant: p={comparison.p_value:.2g}"
    return ""


def judge(result: CaseResult, entry: BaselineEntry | None, require_baseline: bool = False) -> Verdict:
    """The verdict on one case: its outcome, then the worst of its metric comparisons."""
    case_id = result.key.case_id
    if result.outcome is Outcome.WRONG:
        return Verdict(case_id, VerdictKind.WRONG, f"{case_id}: {result.reason}")
    if result.outcome is Outcome.OOM:
        return Verdict(case_id, VerdictKind.OOM, f"{case_id}: {result.reason}")
    if result.outcome is Outcome.SKIPPED or result.timing is None:
        return Verdict(case_id, VerdictKind.SKIPPED, f"{case_id}: {result.reason or 'not measured'}")
    suspect = f" [suspect: {result.clocks.suspect}]" if result.clocks.suspect else ""
    if entry is None:
        kind = VerdictKind.REGRESSION if require_baseline else VerdictKind.NEW
        reason = f"{case_id}: no baseline entry (run with --update-baselines to record one){suspect}"
        return Verdict(case_id, kind, reason)
    comparisons = compare_metrics(result, entry)
    worst = min((c.kind for c in comparisons), key=lambda kind: kind.rank)
    reason = describe(case_id, *(c for c in comparisons if c.kind is worst)) + suspect
    return Verdict(case_id, worst, reason, comparisons)


def missing_verdicts(expected_ids: Iterable[str], produced_ids: Iterable[str]) -> list[Verdict]:
    """Baseline entries this run was expected to produce but did not (renamed or deselected cases)."""
    produced = set(produced_ids)
    return [
        Verdict(case_id, VerdictKind.MISSING, f"{case_id}: in the baseline but not produced by this run")
        for case_id in sorted(set(expected_ids) - produced)
    ]
