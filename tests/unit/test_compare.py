"""Measured cases against baseline entries: classification, descriptions and verdicts."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from perf.baseline import BaselineEntry
from perf.compare import GIB, classify, compare_metrics, describe, judge, missing_verdicts
from perf.results import CaseKey, CaseResult, Memory, MetricComparison, Outcome, Resolution, Timing, VerdictKind

KEY = CaseKey("vggt-aggregator", "sdpa-flash", 20, Resolution(350, 518))
CASE = KEY.case_id

positive = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False)
tolerances = st.floats(min_value=0.0, max_value=2.0, allow_nan=False)


def timing(median_s: float) -> Timing:
    return Timing(median_s=median_s, iqr_s=0.0, min_s=median_s, max_s=median_s, rounds=5)


def measured(median_s: float | None = 0.3, peak_bytes: int | None = None) -> CaseResult:
    return CaseResult(
        KEY,
        Outcome.OK,
        "bf16",
        timing(median_s) if median_s is not None else None,
        Memory(peak_bytes, peak_bytes) if peak_bytes is not None else None,
    )


def entry(
    median_s: float = 0.3,
    peak_bytes: int | None = None,
    time_tolerance: float = 0.05,
    memory_tolerance: float = 0.02,
) -> BaselineEntry:
    return BaselineEntry(
        KEY,
        "bf16",
        timing(median_s),
        Memory(peak_bytes, peak_bytes) if peak_bytes is not None else None,
        time_tolerance,
        memory_tolerance,
        run="run-1",
    )


@st.composite
def near_boundary(draw: st.DrawFn) -> tuple[float, float, float]:
    """(measured, baseline, tolerance) with measured within a few ulps of baseline x (1 + tolerance)."""
    baseline, tolerance = draw(positive), draw(tolerances)
    value = baseline * (1 + tolerance)
    for _ in range(draw(st.integers(0, 3))):
        value = math.nextafter(value, math.inf if draw(st.booleans()) else 0.0)
    return value, baseline, tolerance


# classify


def test_slower_than_the_tolerance_regresses() -> None:
    assert classify(1.06, 1.0, 0.05) is VerdictKind.REGRESSION


def test_slower_within_the_tolerance_passes() -> None:
    assert classify(1.04, 1.0, 0.05) is VerdictKind.PASS


def test_faster_than_the_tolerance_improves() -> None:
    assert classify(0.9, 1.0, 0.05) is VerdictKind.IMPROVED


def test_faster_within_the_tolerance_passes() -> None:
    assert classify(0.96, 1.0, 0.05) is VerdictKind.PASS


def test_zero_tolerance_flags_any_change() -> None:
    assert classify(1.0 + 1e-12, 1.0, 0.0) is VerdictKind.REGRESSION
    assert classify(1.0 - 1e-12, 1.0, 0.0) is VerdictKind.IMPROVED
    assert classify(1.0, 1.0, 0.0) is VerdictKind.PASS


def test_classify_compares_integer_bytes() -> None:
    assert classify(103 * GIB, 100 * GIB, 0.02) is VerdictKind.REGRESSION
    assert classify(102 * GIB, 100 * GIB, 0.02) is VerdictKind.PASS


@settings(max_examples=100, deadline=None)
@given(value=positive, tolerance=tolerances)
def test_an_identical_baseline_always_passes(value: float, tolerance: float) -> None:
    assert classify(value, value, tolerance) is VerdictKind.PASS


@settings(max_examples=150, deadline=None)
@given(measured_value=positive, baseline=positive, tolerance=tolerances)
@example(measured_value=0.6350025191692408, baseline=0.4233350127794938, tolerance=0.5)
def test_a_ratio_above_one_plus_tolerance_regresses_and_no_other(
    measured_value: float, baseline: float, tolerance: float
) -> None:
    ratio = measured_value / baseline
    is_regression = classify(measured_value, baseline, tolerance) is VerdictKind.REGRESSION
    assert is_regression == (ratio > 1 + tolerance)


@settings(max_examples=150, deadline=None)
@given(near_boundary())
def test_the_regression_boundary_agrees_with_the_ratio(case: tuple[float, float, float]) -> None:
    measured_value, baseline, tolerance = case
    kind = classify(measured_value, baseline, tolerance)
    comparison = MetricComparison("time", "s", measured_value, baseline, tolerance, kind)
    assert (kind is VerdictKind.REGRESSION) == (comparison.ratio > 1 + tolerance)


@settings(max_examples=150, deadline=None)
@given(measured_value=positive, baseline=positive, tolerance=tolerances)
def test_improvement_means_a_ratio_below_one_over_one_plus_tolerance(
    measured_value: float, baseline: float, tolerance: float
) -> None:
    kind = classify(measured_value, baseline, tolerance)
    ratio = measured_value / baseline
    if kind is VerdictKind.IMPROVED:
        assert ratio < 1
        assert ratio * (1 + tolerance) < 1
    if ratio >= 1:
        assert kind is not VerdictKind.IMPROVED


@settings(max_examples=150, deadline=None)
@given(measured_value=positive, baseline=positive, first=tolerances, second=tolerances)
def test_a_larger_tolerance_never_turns_a_pass_into_a_regression(
    measured_value: float, baseline: float, first: float, second: float
) -> None:
    narrow, wide = sorted((first, second))
    kind_narrow = classify(measured_value, baseline, narrow)
    kind_wide = classify(measured_value, baseline, wide)
    if kind_narrow is not VerdictKind.REGRESSION:
        assert kind_wide is not VerdictKind.REGRESSION
    if kind_narrow is VerdictKind.PASS:
        assert kind_wide is VerdictKind.PASS


# compare_metrics


def test_time_is_compared_as_the_median() -> None:
    (time,) = compare_metrics(measured(0.33), entry(0.3, time_tolerance=0.05))
    assert time == MetricComparison("time", "s", 0.33, 0.3, 0.05, VerdictKind.REGRESSION)


def test_memory_is_compared_in_gib_with_its_own_tolerance() -> None:
    time, memory = compare_metrics(measured(0.3, 3 * GIB), entry(0.3, 2 * GIB, memory_tolerance=0.1))
    assert time.kind is VerdictKind.PASS
    assert memory == MetricComparison("memory", "GiB", 3.0, 2.0, 0.1, VerdictKind.REGRESSION)


@pytest.mark.parametrize(
    ("result", "baseline_entry"),
    [
        (measured(0.3, None), entry(0.3, GIB)),
        (measured(0.3, GIB), entry(0.3, None)),
        (measured(0.3, GIB), entry(0.3, 0)),
    ],
    ids=["no-measured-memory", "no-baseline-memory", "zero-baseline-memory"],
)
def test_memory_is_skipped_unless_both_sides_measured_it(result: CaseResult, baseline_entry: BaselineEntry) -> None:
    assert [c.metric for c in compare_metrics(result, baseline_entry)] == ["time"]


def test_time_is_not_compared_without_a_timing() -> None:
    assert [c.metric for c in compare_metrics(measured(None, GIB), entry(0.3, GIB))] == ["memory"]


# describe


def test_describe_names_the_case_both_times_the_ratio_and_the_tolerance() -> None:
    comparison = MetricComparison("time", "s", 0.33, 0.3, 0.05, VerdictKind.REGRESSION)
    assert describe(CASE, comparison) == (
        "vggt-aggregator-sdpa-flash-20f-350x518: time 0.3300 s vs baseline 0.3000 s (x1.100, tolerance +5%)"
    )


def test_describe_shows_memory_in_gib_to_two_places() -> None:
    comparison = MetricComparison("memory", "GiB", 3.0, 2.0, 0.02, VerdictKind.REGRESSION)
    assert describe("case", comparison) == "case: memory 3.00 GiB vs baseline 2.00 GiB (x1.500, tolerance +2%)"


def test_describe_is_one_line() -> None:
    comparison = MetricComparison("time", "s", 0.29, 0.3, 0.5, VerdictKind.PASS)
    line = describe(CASE, comparison)
    assert "\n" not in line
    assert line.startswith(f"{CASE}: ")
    assert "x0.967" in line
    assert "+50%" in line


# judge


def test_a_case_without_an_entry_is_new() -> None:
    verdict = judge(measured(), None)
    assert verdict.kind is VerdictKind.NEW
    assert verdict.case_id == CASE
    assert verdict.reason == f"{CASE}: no baseline entry (run with --update-baselines to record one)"
    assert verdict.comparisons == ()


def test_a_case_without_an_entry_regresses_when_a_baseline_is_required() -> None:
    verdict = judge(measured(), None, require_baseline=True)
    assert verdict.kind is VerdictKind.REGRESSION
    assert "no baseline entry" in verdict.reason


@pytest.mark.parametrize("baseline_entry", [None, entry()], ids=["no-entry", "entry"])
@pytest.mark.parametrize("require_baseline", [False, True])
def test_out_of_memory_is_its_own_verdict(baseline_entry: BaselineEntry | None, require_baseline: bool) -> None:
    result = CaseResult(KEY, Outcome.OOM, "bf16", reason="CUDA out of memory at 40 GiB")
    verdict = judge(result, baseline_entry, require_baseline)
    assert verdict.kind is VerdictKind.OOM
    assert verdict.reason == f"{CASE}: CUDA out of memory at 40 GiB"


@pytest.mark.parametrize("baseline_entry", [None, entry()], ids=["no-entry", "entry"])
@pytest.mark.parametrize("require_baseline", [False, True])
def test_a_skipped_case_is_skipped_whatever_the_baseline(
    baseline_entry: BaselineEntry | None, require_baseline: bool
) -> None:
    result = CaseResult(KEY, Outcome.SKIPPED, reason="sdpa-cudnn runs on cuda only")
    verdict = judge(result, baseline_entry, require_baseline)
    assert verdict.kind is VerdictKind.SKIPPED
    assert verdict.reason == f"{CASE}: sdpa-cudnn runs on cuda only"


def test_an_ok_case_without_a_timing_is_skipped_as_not_measured() -> None:
    verdict = judge(measured(None), entry())
    assert verdict.kind is VerdictKind.SKIPPED
    assert verdict.reason == f"{CASE}: not measured"


def test_a_slowdown_beyond_tolerance_is_a_regression() -> None:
    verdict = judge(measured(0.33), entry(0.3, time_tolerance=0.05))
    assert verdict.kind is VerdictKind.REGRESSION
    assert verdict.reason == f"{CASE}: time 0.3300 s vs baseline 0.3000 s (x1.100, tolerance +5%)"
    assert [c.metric for c in verdict.comparisons] == ["time"]


def test_a_speedup_beyond_tolerance_is_an_improvement() -> None:
    verdict = judge(measured(0.25), entry(0.3, time_tolerance=0.05))
    assert verdict.kind is VerdictKind.IMPROVED
    assert "x0.833" in verdict.reason


def test_a_case_within_tolerance_passes() -> None:
    verdict = judge(measured(0.31), entry(0.3, time_tolerance=0.05))
    assert verdict.kind is VerdictKind.PASS


def test_memory_growth_fails_a_case_whose_time_passes() -> None:
    verdict = judge(measured(0.3, 3 * GIB), entry(0.3, 2 * GIB))
    assert verdict.kind is VerdictKind.REGRESSION
    assert verdict.reason == f"{CASE}: memory 3.00 GiB vs baseline 2.00 GiB (x1.500, tolerance +2%)"
    assert [(c.metric, c.kind) for c in verdict.comparisons] == [
        ("time", VerdictKind.PASS),
        ("memory", VerdictKind.REGRESSION),
    ]


def test_memory_growth_outweighs_a_time_improvement() -> None:
    verdict = judge(measured(0.2, 3 * GIB), entry(0.3, 2 * GIB))
    assert verdict.kind is VerdictKind.REGRESSION
    assert "memory" in verdict.reason


def test_a_time_regression_outweighs_a_memory_improvement() -> None:
    verdict = judge(measured(0.4, GIB), entry(0.3, 2 * GIB))
    assert verdict.kind is VerdictKind.REGRESSION
    assert ": time " in verdict.reason


def test_an_improvement_in_one_metric_shows_when_the_other_passes() -> None:
    verdict = judge(measured(0.3, GIB), entry(0.3, 2 * GIB))
    assert verdict.kind is VerdictKind.IMPROVED
    assert ": memory " in verdict.reason


@settings(max_examples=100, deadline=None)
@given(
    median_s=positive,
    peak_bytes=st.one_of(st.none(), st.integers(1, 200 * GIB)),
    time_tolerance=tolerances,
    memory_tolerance=tolerances,
)
def test_judging_a_result_against_its_own_measurement_never_regresses(
    median_s: float, peak_bytes: int | None, time_tolerance: float, memory_tolerance: float
) -> None:
    verdict = judge(measured(median_s, peak_bytes), entry(median_s, peak_bytes, time_tolerance, memory_tolerance))
    assert verdict.kind is VerdictKind.PASS
    assert all(c.ratio == 1.0 for c in verdict.comparisons)


@settings(max_examples=100, deadline=None)
@given(
    measured_s=positive,
    baseline_s=positive,
    measured_bytes=st.integers(1, 200 * GIB),
    baseline_bytes=st.integers(1, 200 * GIB),
    first=tolerances,
    second=tolerances,
)
def test_a_larger_entry_tolerance_never_turns_a_verdict_into_a_regression(
    measured_s: float, baseline_s: float, measured_bytes: int, baseline_bytes: int, first: float, second: float
) -> None:
    narrow, wide = sorted((first, second))
    result = measured(measured_s, measured_bytes)
    narrow_verdict = judge(result, entry(baseline_s, baseline_bytes, narrow, narrow))
    wide_verdict = judge(result, entry(baseline_s, baseline_bytes, wide, wide))
    if narrow_verdict.kind is not VerdictKind.REGRESSION:
        assert wide_verdict.kind is not VerdictKind.REGRESSION


@settings(max_examples=100, deadline=None)
@given(measured_s=positive, baseline_s=positive, tolerance=tolerances)
def test_a_verdict_is_the_worst_of_its_comparisons(measured_s: float, baseline_s: float, tolerance: float) -> None:
    verdict = judge(measured(measured_s, GIB), entry(baseline_s, GIB, tolerance, tolerance))
    assert verdict.kind.rank == min(c.kind.rank for c in verdict.comparisons)
    # memory is unchanged, so time alone decides
    assert verdict.kind is classify(measured_s, baseline_s, tolerance)


# missing_verdicts


def test_entries_not_produced_are_missing_in_id_order() -> None:
    verdicts = missing_verdicts(["c", "a", "b", "a"], iter(["b"]))
    assert [v.case_id for v in verdicts] == ["a", "c"]
    assert all(v.kind is VerdictKind.MISSING for v in verdicts)
    assert verdicts[0].reason == "a: in the baseline but not produced by this run"
    assert verdicts[0].comparisons == ()


def test_nothing_is_missing_when_every_entry_was_produced() -> None:
    assert missing_verdicts(["a", "b"], ["a", "b", "new-case"]) == []


def test_nothing_is_missing_from_an_empty_baseline() -> None:
    assert missing_verdicts([], ["a"]) == []


def test_time_and_memory_regressing_together_share_one_line() -> None:
    verdict = judge(measured(2.7618, 52 * GIB), entry(0.3384, 6 * GIB))
    assert verdict.kind is VerdictKind.REGRESSION
    assert verdict.reason == (
        f"{CASE}: time 2.762 s vs baseline 0.3384 s (x8.161, tolerance +5%); "
        "memory 52.00 GiB vs baseline 6.00 GiB (x8.667, tolerance +2%)"
    )


def test_a_wrong_backend_is_its_own_verdict_whatever_its_speed() -> None:
    result = CaseResult(KEY, Outcome.WRONG, "bf16", timing(0.1), reason="relative error 0.9, tolerance 0.02")
    verdict = judge(result, entry(0.3))
    assert verdict.kind is VerdictKind.WRONG
    assert verdict.reason == f"{CASE}: relative error 0.9, tolerance 0.02"
