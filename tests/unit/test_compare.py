"""Measured cases against baseline entries: classification, descriptions and verdicts."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from perf.core.baselines import BaselineEntry
from perf.core.compare import GIB, classify, compare_metrics, compare_time, describe, judge, missing_verdicts
from perf.core.results import CaseKey, CaseResult, Memory, MetricComparison, Outcome, Resolution, Timing, VerdictKind
from perf.core.stats import SIGNIFICANCE, summarize_rounds

KEY = CaseKey("vggt-aggregator", "sdpa-flash", 20, Resolution(350, 518))
CASE = KEY.case_id
NO_SAMPLES = "ratio only: no round samples in the baseline entry"

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
    comparison = MetricComparison("time", "s", measured_value, baseline, tolerance, kind, tolerance)
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
    assert time == MetricComparison(
        "time", "s", 0.33, 0.3, 0.05, VerdictKind.REGRESSION, 0.05, None, "no round samples in the baseline entry"
    )


def test_memory_is_compared_in_gib_with_its_own_tolerance() -> None:
    time, memory = compare_metrics(measured(0.3, 3 * GIB), entry(0.3, 2 * GIB, memory_tolerance=0.1))
    assert time.kind is VerdictKind.PASS
    assert memory == MetricComparison("memory", "GiB", 3.0, 2.0, 0.1, VerdictKind.REGRESSION, 0.1)


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
    comparison = MetricComparison("time", "s", 0.33, 0.3, 0.05, VerdictKind.REGRESSION, 0.05, p_value=1e-9)
    assert describe(CASE, comparison) == (
        "vggt-aggregator-sdpa-flash-20f-350x518: time 0.3300 s vs baseline 0.3000 s (x1.100, tolerance +5%)"
    )


def test_describe_shows_memory_in_gib_to_two_places() -> None:
    comparison = MetricComparison("memory", "GiB", 3.0, 2.0, 0.02, VerdictKind.REGRESSION, 0.02)
    assert describe("case", comparison) == "case: memory 3.00 GiB vs baseline 2.00 GiB (x1.500, tolerance +2%)"


def test_describe_is_one_line() -> None:
    comparison = MetricComparison("time", "s", 0.29, 0.3, 0.5, VerdictKind.PASS, 0.5)
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
    assert verdict.reason == f"{CASE}: time 0.3300 s vs baseline 0.3000 s (x1.100, tolerance +5%, {NO_SAMPLES})"
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
        f"{CASE}: time 2.762 s vs baseline 0.3384 s (x8.161, tolerance +5%, {NO_SAMPLES}); "
        "memory 52.00 GiB vs baseline 6.00 GiB (x8.667, tolerance +2%)"
    )


def test_a_wrong_backend_is_its_own_verdict_whatever_its_speed() -> None:
    result = CaseResult(KEY, Outcome.WRONG, "bf16", timing(0.1), reason="relative error 0.9, tolerance 0.02")
    verdict = judge(result, entry(0.3))
    assert verdict.kind is VerdictKind.WRONG
    assert verdict.reason == f"{CASE}: relative error 0.9, tolerance 0.02"


# the rank test: a time regression needs the ratio beyond tolerance and p < SIGNIFICANCE

round_seconds = st.floats(min_value=1e-4, max_value=10.0, allow_nan=False, allow_infinity=False)
sampled = st.lists(round_seconds, min_size=1, max_size=30)


def rounds(median_s: float, count: int, noise: float, seed: int = 0) -> Timing:
    """count rounds around median_s with a relative normal noise, reproducibly."""
    rng = random.Random(seed)
    return summarize_rounds([median_s * (1 + rng.gauss(0.0, noise)) for _ in range(count)])


def with_rounds(timing_: Timing, peak_bytes: int | None = None) -> tuple[CaseResult, BaselineEntry]:
    """A result of these rounds, and a baseline entry recorded from the very same rounds."""
    result = replace(measured(peak_bytes=peak_bytes), timing=timing_)
    return result, replace(entry(peak_bytes=peak_bytes), timing=timing_)


@settings(max_examples=60, deadline=None)
@given(samples=sampled, tolerance=tolerances, peak_bytes=st.none() | st.integers(1, 200 * GIB))
def test_a_result_compared_with_a_baseline_of_the_same_rounds_never_regresses(
    samples: list[float], tolerance: float, peak_bytes: int | None
) -> None:
    result, baseline_entry = with_rounds(summarize_rounds(samples), peak_bytes)
    verdict = judge(result, replace(baseline_entry, time_tolerance=tolerance, memory_tolerance=tolerance))
    assert verdict.kind is VerdictKind.PASS
    time = verdict.comparisons[0]
    assert time.p_value is None or time.p_value > SIGNIFICANCE


@settings(max_examples=60, deadline=None)
@given(measured_samples=sampled, baseline_samples=sampled, first=tolerances, second=tolerances)
def test_rank_tested_verdicts_are_monotonic_in_the_tolerance(
    measured_samples: list[float], baseline_samples: list[float], first: float, second: float
) -> None:
    narrow, wide = sorted((first, second))
    measured_timing, baseline_timing = summarize_rounds(measured_samples), summarize_rounds(baseline_samples)
    narrow_time = compare_time(measured_timing, baseline_timing, narrow)
    wide_time = compare_time(measured_timing, baseline_timing, wide)
    assert (narrow_time.p_value, narrow_time.untested) == (wide_time.p_value, wide_time.untested)
    if narrow_time.kind is VerdictKind.PASS:
        assert wide_time.kind is VerdictKind.PASS
    if wide_time.kind is not VerdictKind.PASS:
        assert wide_time.kind is narrow_time.kind
    assert narrow_time.detectable <= wide_time.detectable


@settings(max_examples=60, deadline=None)
@given(measured_samples=sampled, baseline_samples=sampled, tolerance=tolerances)
def test_a_regression_needs_the_ratio_beyond_tolerance_and_significance_where_tested(
    measured_samples: list[float], baseline_samples: list[float], tolerance: float
) -> None:
    time = compare_time(summarize_rounds(measured_samples), summarize_rounds(baseline_samples), tolerance)
    significant = time.p_value < SIGNIFICANCE if time.p_value is not None else bool(time.untested)
    assert (time.kind is VerdictKind.REGRESSION) == (time.ratio > 1 + tolerance and significant)
    assert (time.kind is VerdictKind.IMPROVED) == (time.ratio * (1 + tolerance) < 1 and significant)
    assert (time.p_value is None) == bool(time.untested)
    assert time.detectable >= tolerance


def test_a_large_real_slowdown_is_a_significant_regression() -> None:
    time = compare_time(rounds(1.3, 30, 0.01, seed=2), rounds(1.0, 30, 0.01, seed=1), 0.05)
    assert time.kind is VerdictKind.REGRESSION
    assert time.p_value is not None and time.p_value < SIGNIFICANCE
    assert time.detectable == 0.05  # 1 % noise over 30 rounds hides nothing the tolerance would catch
    assert describe(CASE, time) == (
        f"{CASE}: time {time.measured:#.4g} s vs baseline {time.baseline:#.4g} s (x{time.ratio:.3f}, tolerance +5%)"
    )


def test_the_same_slowdown_in_two_rounds_is_judged_on_the_ratio_alone() -> None:
    time = compare_time(rounds(1.3, 2, 0.01, seed=2), rounds(1.0, 2, 0.01, seed=1), 0.05)
    assert time.kind is VerdictKind.REGRESSION
    assert time.p_value is None
    assert time.untested == "2 rounds against the baseline's 2 cannot reach p < 0.01"
    assert describe(CASE, time).endswith(
        "tolerance +5%, ratio only: 2 rounds against the baseline's 2 cannot reach p < 0.01)"
    )


def test_a_large_real_speedup_is_a_significant_improvement() -> None:
    time = compare_time(rounds(0.7, 30, 0.01, seed=2), rounds(1.0, 30, 0.01, seed=1), 0.05)
    assert time.kind is VerdictKind.IMPROVED
    assert time.p_value is not None and time.p_value < SIGNIFICANCE


NOISY_BASELINE = summarize_rounds([0.5, 0.9, 1.0, 1.1, 1.5, 0.7, 1.3])
NOISY_SLOWER = summarize_rounds([0.6, 1.0, 1.1, 1.2, 1.6, 0.8, 1.4])  # median x1.1, the same spread


def test_a_slowdown_beyond_tolerance_that_noise_explains_passes_with_a_note() -> None:
    verdict = judge(replace(measured(), timing=NOISY_SLOWER), replace(entry(), timing=NOISY_BASELINE))
    (time,) = verdict.comparisons
    assert verdict.kind is VerdictKind.PASS
    assert time.ratio == pytest.approx(1.1)
    assert time.p_value is not None and time.p_value > 0.1
    assert verdict.reason == (
        f"{CASE}: time 1.100 s vs baseline 1.000 s (x1.100, tolerance +5%, slower but not significant: "
        f"p={time.p_value:.2g})"
    )
    assert time.detectable > 0.1  # what these rounds could detect: more than this slowdown


def test_a_speedup_beyond_tolerance_that_noise_explains_passes_with_a_note() -> None:
    time = compare_time(NOISY_BASELINE, NOISY_SLOWER, 0.05)
    assert time.kind is VerdictKind.PASS
    assert "faster but not significant: p=" in describe(CASE, time)


def test_a_change_within_tolerance_needs_no_note_even_when_significant() -> None:
    time = compare_time(rounds(1.03, 30, 0.001, seed=2), rounds(1.0, 30, 0.001, seed=1), 0.05)
    assert time.kind is VerdictKind.PASS
    assert time.p_value is not None and time.p_value < SIGNIFICANCE
    assert describe(CASE, time).endswith("tolerance +5%)")


def test_a_median_edited_to_prove_the_gate_still_regresses_on_one_plain_line() -> None:
    timing_ = rounds(0.5, 30, 0.05)
    baseline_entry = replace(entry(), timing=replace(timing_, median_s=timing_.median_s / 100))
    verdict = judge(replace(measured(), timing=timing_), baseline_entry)
    assert verdict.kind is VerdictKind.REGRESSION
    assert verdict.reason.endswith(", tolerance +5%)")


def test_memory_is_compared_exactly_whatever_the_rounds() -> None:
    result, baseline_entry = with_rounds(rounds(1.0, 30, 0.3), 2 * GIB)
    heavier = replace(result, memory=Memory(3 * GIB, 3 * GIB))
    time, memory = compare_metrics(heavier, baseline_entry)
    assert time.kind is VerdictKind.PASS
    assert memory == MetricComparison("memory", "GiB", 3.0, 2.0, 0.02, VerdictKind.REGRESSION, 0.02)
    assert (
        judge(heavier, baseline_entry).reason == f"{CASE}: memory 3.00 GiB vs baseline 2.00 GiB (x1.500, tolerance +2%)"
    )
