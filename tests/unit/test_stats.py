"""Round summaries and the tolerance a case is held to."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perf.core.results import Timing
from perf.core.stats import (
    MIN_TESTED_ROUNDS,
    SIGNIFICANCE,
    detectable_slowdown,
    median_interval_reach,
    p_value_of_change,
    summarize_rounds,
    untested_reason,
)
from perf.core.tolerance import (
    ATTENTION_REGIMES,
    DEFAULT_TIME_TOLERANCE,
    HOST_BOUND,
    INTERVAL_MIN_ROUNDS,
    IQR_MULTIPLIER,
    LAUNCH_BOUND,
    NOISE_MULTIPLIER,
    SINGLE_PROCESS_TOLERANCE,
    SUB_SECOND,
    VGGT_REGIMES,
    Regime,
    time_tolerance_for,
)

seconds = st.floats(min_value=1e-6, max_value=100.0, allow_nan=False, allow_infinity=False)


def timing(median_s: float, iqr_s: float = 0.0) -> Timing:
    return Timing(median_s=median_s, iqr_s=iqr_s, min_s=median_s, max_s=median_s + iqr_s, rounds=10)


def test_summarize_rounds_refuses_no_rounds() -> None:
    with pytest.raises(ValueError, match="no timed rounds"):
        summarize_rounds([])


def noisy_rounds(median_s: float, rounds: int, noise: float, seed: int = 0) -> list[float]:
    """Rounds around median_s with a relative normal noise, reproducibly."""
    rng = random.Random(seed)
    return [median_s * (1 + rng.gauss(0.0, noise)) for _ in range(rounds)]


def test_one_round_has_no_spread() -> None:
    assert summarize_rounds([0.25]) == Timing(
        median_s=0.25, iqr_s=0.0, min_s=0.25, max_s=0.25, rounds=1, samples_s=(0.25,)
    )


def test_summarize_rounds_summarises_sorted_and_keeps_the_rounds_in_the_order_they_ran() -> None:
    assert summarize_rounds([3.0, 1.0, 5.0, 2.0, 4.0]) == Timing(
        median_s=3.0, iqr_s=2.0, min_s=1.0, max_s=5.0, rounds=5, samples_s=(3.0, 1.0, 5.0, 2.0, 4.0)
    )


def test_even_round_count_takes_the_mean_of_the_middle_pair() -> None:
    summary = summarize_rounds([4.0, 1.0, 3.0, 2.0])
    assert summary.median_s == 2.5
    # inclusive quartiles of 1..4 are 1.75 and 3.25
    assert summary.iqr_s == pytest.approx(1.5)
    assert (summary.min_s, summary.max_s, summary.rounds) == (1.0, 4.0, 4)


def test_identical_rounds_have_zero_iqr() -> None:
    assert summarize_rounds([0.3] * 7).iqr_s == 0.0


@settings(max_examples=60, deadline=None)
@given(st.lists(seconds, min_size=1, max_size=40), st.randoms(use_true_random=False))
def test_summary_is_bounded_and_order_free(samples: list[float], rng) -> None:
    summary = summarize_rounds(samples)
    shuffled = list(samples)
    rng.shuffle(shuffled)
    assert replace(summarize_rounds(shuffled), samples_s=()) == replace(summary, samples_s=())
    assert summary.samples_s == tuple(samples)
    assert summary.rounds == len(samples)
    assert summary.min_s == min(samples)
    assert summary.max_s == max(samples)
    assert summary.min_s <= summary.median_s <= summary.max_s
    assert 0.0 <= summary.iqr_s <= (summary.max_s - summary.min_s) * (1 + 1e-9)


POOLED = (1.0, 1.0, 1.0)  # process medians of an entry pooled from three processes that agree exactly


def test_quiet_gpu_bound_case_gets_the_default() -> None:
    assert time_tolerance_for(timing(1.5), VGGT_REGIMES, process_medians_s=POOLED) == DEFAULT_TIME_TOLERANCE == 0.02
    assert time_tolerance_for(timing(0.5), VGGT_REGIMES, process_medians_s=POOLED) == SUB_SECOND.tolerance == 0.03


def test_an_entry_of_one_process_is_held_to_the_single_process_tolerance() -> None:
    assert time_tolerance_for(timing(1.5), VGGT_REGIMES) == SINGLE_PROCESS_TOLERANCE == 0.03
    assert time_tolerance_for(timing(1.5), VGGT_REGIMES, process_medians_s=(1.5,)) == SINGLE_PROCESS_TOLERANCE


def test_the_spread_between_processes_widens_the_tolerance() -> None:
    # medians 2.9, 3.0, 3.1: sd 0.1 / 3.0 = 3.3 %; 2.33 x 3.3 % x sqrt(1/2 + 1/3) = 7.1 %, held to 8 %
    assert time_tolerance_for(timing(3.0), VGGT_REGIMES, process_medians_s=(2.9, 3.0, 3.1)) == 0.08


@pytest.mark.parametrize("percent", range(1, 100))
def test_a_whole_percent_default_is_kept_exactly(percent: int) -> None:
    # 0.07 * 100 is 7.000000000000001 in binary floating point; it must not round up to 8 %.
    assert time_tolerance_for(timing(1.0), (), percent / 100, process_medians_s=POOLED) == percent / 100


def test_the_default_is_a_floor_for_quiet_cases() -> None:
    assert time_tolerance_for(timing(1.0, iqr_s=0.001), VGGT_REGIMES, default=0.1) == 0.1


def test_a_summary_without_rounds_is_widened_to_three_iqrs() -> None:
    # 3 x 0.03 / 1.0 = 9 %; entries written before rounds were kept have only the summary
    assert IQR_MULTIPLIER == 3.0
    assert time_tolerance_for(timing(1.0, iqr_s=0.03), VGGT_REGIMES) == 0.09


def test_noise_is_relative_to_the_median() -> None:
    assert time_tolerance_for(timing(2.0, iqr_s=0.06), VGGT_REGIMES) == 0.09


def test_widened_tolerance_rounds_up_to_a_whole_percent() -> None:
    # 3 x 0.021 / 1.0 = 6.3 %, held to 7 %
    assert time_tolerance_for(timing(1.0, iqr_s=0.021), VGGT_REGIMES) == 0.07


def test_fraction_of_a_percent_above_default_rounds_up() -> None:
    assert time_tolerance_for(timing(1.0), VGGT_REGIMES, default=0.051) == 0.06


def test_host_bound_case_gets_the_host_bound_floor() -> None:
    assert time_tolerance_for(timing(0.2), VGGT_REGIMES) == HOST_BOUND.tolerance == 0.3


def test_launch_bound_case_is_held_only_to_a_doubling() -> None:
    assert time_tolerance_for(timing(0.06), VGGT_REGIMES) == LAUNCH_BOUND.tolerance == 1.0


def test_regimes_start_strictly_below_their_thresholds() -> None:
    assert time_tolerance_for(timing(HOST_BOUND.below_s), VGGT_REGIMES) == SUB_SECOND.tolerance
    assert time_tolerance_for(timing(SUB_SECOND.below_s), VGGT_REGIMES, process_medians_s=POOLED) == 0.02
    assert time_tolerance_for(timing(math.nextafter(HOST_BOUND.below_s, 0.0)), VGGT_REGIMES) == HOST_BOUND.tolerance
    assert time_tolerance_for(timing(LAUNCH_BOUND.below_s), VGGT_REGIMES) == HOST_BOUND.tolerance
    assert time_tolerance_for(timing(math.nextafter(LAUNCH_BOUND.below_s, 0.0)), VGGT_REGIMES) == LAUNCH_BOUND.tolerance


@pytest.mark.parametrize(
    ("median_s", "tolerance"),
    [(0.0002, 1.0), (0.00085, 1.0), (0.001, 0.1), (0.0035, 0.1), (0.0199, 0.1), (0.02, 0.03), (0.087, 0.03)],
)
def test_attention_is_held_by_its_own_millisecond_regimes(median_s: float, tolerance: float) -> None:
    # one or two kernels: launch-bound below 1 ms, short kernels drifting up to 5 % below 20 ms, then the floor
    assert time_tolerance_for(timing(median_s), regimes=ATTENTION_REGIMES) == tolerance
    assert time_tolerance_for(timing(median_s), regimes=VGGT_REGIMES) == LAUNCH_BOUND.tolerance  # VGGT's would not do


def test_rounds_widen_the_tolerance_to_twice_their_medians_interval() -> None:
    # 9 rounds 1.00 .. 1.08: the median 1.04's 95 % interval runs from the 2nd to the 8th round, 1.01 .. 1.07:
    # reach 0.03 / 1.04 = 2.9 %, doubled 5.8 %, held to 6 %
    rounds = [1.0 + i / 100 for i in range(9)]
    assert NOISE_MULTIPLIER == 2.0
    assert time_tolerance_for(summarize_rounds(rounds), VGGT_REGIMES) == 0.06


def test_tight_rounds_keep_the_default_whatever_their_outliers() -> None:
    # 15 rounds within 0.3 % and 5 of them 20 % slow (host hiccups): three IQRs would say 15 %, while the median's
    # interval stays inside the tight rounds
    rounds = [0.300 + 0.0002 * i for i in range(15)] + [0.36] * 5
    summary = summarize_rounds(rounds)
    assert IQR_MULTIPLIER * summary.iqr_s / summary.median_s > 0.1
    assert time_tolerance_for(summary, VGGT_REGIMES) == SINGLE_PROCESS_TOLERANCE


@pytest.mark.parametrize("rounds", range(1, INTERVAL_MIN_ROUNDS))
def test_fewer_than_nine_rounds_fall_back_to_three_iqrs(rounds: int) -> None:
    samples = [1.0 + i / 100 for i in range(rounds)]
    summary = summarize_rounds(samples)
    assert time_tolerance_for(summary, VGGT_REGIMES) == max(
        0.03, math.ceil(round(300 * summary.iqr_s / summary.median_s, 9)) / 100
    )


@pytest.mark.parametrize("rounds", [5, 6, 7, 8])
def test_one_slow_round_among_few_does_not_set_the_tolerance(rounds: int) -> None:
    # From 6 to 8 rounds the median's 95 % interval spans them all: it would hold this case to +60 %.
    samples = [1.0] * (rounds - 1) + [1.3]
    assert median_interval_reach(samples) == (math.inf if rounds == 5 else pytest.approx(0.3))
    assert time_tolerance_for(summarize_rounds(samples), VGGT_REGIMES) == SINGLE_PROCESS_TOLERANCE


REGIME_SETS = st.sampled_from([(), VGGT_REGIMES, ATTENTION_REGIMES, (Regime(10.0, 0.5), Regime(0.5, 0.2))])


def regime_floor(median_s: float, regimes: tuple[Regime, ...]) -> float:
    """The floor restated from the policy: the largest tolerance of the regimes whose bound lies above the median."""
    return max([0.0, *(regime.tolerance for regime in regimes if median_s < regime.below_s)])


def assert_the_next_whole_percent(tolerance: float, wanted: float) -> None:
    assert tolerance == round(tolerance, 2)  # a whole percent
    assert wanted - 1e-9 <= tolerance <= wanted + 0.01


@settings(max_examples=80, deadline=None)
@given(
    samples=st.lists(st.floats(min_value=1e-3, max_value=10.0), min_size=INTERVAL_MIN_ROUNDS, max_size=60),
    default=st.floats(min_value=0.0, max_value=1.0),
    regimes=REGIME_SETS,
)
def test_kept_rounds_are_held_to_twice_their_medians_interval_or_the_floors(
    samples: list[float], default: float, regimes: tuple[Regime, ...]
) -> None:
    summary = summarize_rounds(samples)
    tolerance = time_tolerance_for(summary, regimes, default)
    wanted = max(
        default,
        SINGLE_PROCESS_TOLERANCE,
        NOISE_MULTIPLIER * median_interval_reach(samples),
        regime_floor(summary.median_s, regimes),
    )
    assert_the_next_whole_percent(tolerance, wanted)


def test_the_median_interval_of_a_few_rounds_is_unknown() -> None:
    assert median_interval_reach([1.0, 1.1, 0.9, 1.0, 1.05]) == math.inf  # 5 rounds: no 95 % interval yet
    assert median_interval_reach([]) == math.inf


def test_the_median_interval_is_read_off_order_statistics() -> None:
    # 7 rounds: the distribution-free 95 % interval runs from the smallest to the largest (P = 1 - 2 / 2^7).
    assert median_interval_reach([1.0, 1.02, 0.98, 1.01, 0.99, 1.03, 0.97]) == pytest.approx(0.03)
    # 20 rounds: from the 6th to the 15th smallest, so one wild round moves nothing.
    steady = [1.0 + 0.001 * i for i in range(19)] + [50.0]
    assert median_interval_reach(steady) == pytest.approx((1.014 - 1.0095) / 1.0095, rel=1e-6)


def test_the_median_interval_reach_is_its_farther_end_from_the_median() -> None:
    # Skewed rounds: a floor set by the kernels and a tail above it. The interval [1.000, 1.012] around the median
    # 1.003 reaches 0.9 % above it, not the 0.6 % half its width would say.
    rounds = [1.0, 1.0, 1.001, 1.002, 1.003, 1.008, 1.012]
    assert median_interval_reach(rounds) == pytest.approx((1.012 - 1.002) / 1.002)


@settings(max_examples=50, deadline=None)
@given(
    samples=st.lists(st.floats(min_value=1e-4, max_value=10.0), min_size=6, max_size=60),
    scale=st.floats(min_value=1e-3, max_value=1e3),
)
def test_the_median_interval_is_relative_so_units_do_not_matter(samples: list[float], scale: float) -> None:
    reach = median_interval_reach(samples)
    assert 0 <= reach < math.inf
    assert median_interval_reach([sample * scale for sample in samples]) == pytest.approx(reach, rel=1e-6)


def test_a_workload_without_regimes_keeps_the_default() -> None:
    assert time_tolerance_for(timing(0.001), regimes=(), process_medians_s=POOLED) == DEFAULT_TIME_TOLERANCE


def test_noise_beyond_the_host_bound_floor_still_widens() -> None:
    # 3 x 0.02 / 0.1 = 60 %
    assert time_tolerance_for(timing(0.1, iqr_s=0.02), VGGT_REGIMES) == 0.6


def test_zero_median_counts_no_noise() -> None:
    assert time_tolerance_for(timing(0.0, iqr_s=1.0), regimes=(), process_medians_s=POOLED) == DEFAULT_TIME_TOLERANCE


@settings(max_examples=100, deadline=None)
@given(
    median_s=seconds,
    iqr_fraction=st.floats(min_value=0.0, max_value=2.0),
    default=st.floats(min_value=0.0, max_value=1.0),
    regimes=REGIME_SETS,
)
def test_tolerance_is_the_widest_floor_rounded_up_to_a_whole_percent(
    median_s: float, iqr_fraction: float, default: float, regimes: tuple[Regime, ...]
) -> None:
    iqr_s = iqr_fraction * median_s
    tolerance = time_tolerance_for(timing(median_s, iqr_s), regimes, default)
    noise = IQR_MULTIPLIER * iqr_s / median_s  # a summary without rounds
    wanted = max(default, SINGLE_PROCESS_TOLERANCE, noise, regime_floor(median_s, regimes))
    assert_the_next_whole_percent(tolerance, wanted)


@settings(max_examples=60, deadline=None)
@given(median_s=seconds, low=st.floats(0.0, 1.0), high=st.floats(0.0, 1.0))
def test_more_noise_never_narrows_the_tolerance(median_s: float, low: float, high: float) -> None:
    low, high = sorted((low, high))
    assert time_tolerance_for(timing(median_s, low * median_s), VGGT_REGIMES) <= time_tolerance_for(
        timing(median_s, high * median_s), VGGT_REGIMES
    )


# ---------------------------------------------------------------- the rank test


def test_significance_is_one_percent() -> None:
    assert SIGNIFICANCE == 0.01
    assert MIN_TESTED_ROUNDS == 3


def test_an_entry_without_samples_leaves_the_ratio_alone() -> None:
    measured = summarize_rounds(noisy_rounds(1.3, 30, 0.01))
    assert untested_reason(measured, timing(1.0)) == "no round samples in the baseline entry"
    assert untested_reason(timing(1.3), summarize_rounds(noisy_rounds(1.0, 30, 0.01))) == "no round samples in this run"


@pytest.mark.parametrize(
    ("measured_rounds", "baseline_rounds", "testable"),
    [
        (2, 2, False),
        (2, 100, False),  # fewer than three on one side, whatever the other
        (3, 3, False),  # smallest p 1/20
        (4, 4, False),  # 1/70
        (3, 6, False),  # 1/84
        (3, 7, True),  # 1/120
        (5, 5, True),  # 1/252
        (30, 30, True),
    ],
)
def test_too_few_rounds_to_ever_reach_significance_are_named(
    measured_rounds: int, baseline_rounds: int, testable: bool
) -> None:
    measured = summarize_rounds(noisy_rounds(1.3, measured_rounds, 0.01, seed=1))
    baseline = summarize_rounds(noisy_rounds(1.0, baseline_rounds, 0.01, seed=2))
    reason = untested_reason(measured, baseline)
    if testable:
        assert reason == ""
    else:
        assert reason == f"{measured_rounds} rounds against the baseline's {baseline_rounds} cannot reach p < 0.01"


@settings(max_examples=60, deadline=None)
@given(measured_rounds=st.integers(3, 14), baseline_rounds=st.integers(3, 14))
def test_testable_means_fully_separated_rounds_reach_significance(measured_rounds: int, baseline_rounds: int) -> None:
    slower = summarize_rounds([2.0 + i / 100 for i in range(measured_rounds)])
    baseline = summarize_rounds([1.0 + i / 100 for i in range(baseline_rounds)])
    testable = untested_reason(slower, baseline) == ""
    assert testable == (p_value_of_change(slower, baseline) < SIGNIFICANCE)


def test_a_real_slowdown_is_significant() -> None:
    baseline = summarize_rounds(noisy_rounds(1.0, 30, 0.01, seed=1))
    slower = summarize_rounds(noisy_rounds(1.3, 30, 0.01, seed=2))
    assert p_value_of_change(slower, baseline) < 1e-6


def test_a_real_speedup_is_significant_in_its_own_direction() -> None:
    baseline = summarize_rounds(noisy_rounds(1.0, 30, 0.01, seed=1))
    faster = summarize_rounds(noisy_rounds(0.7, 30, 0.01, seed=2))
    assert p_value_of_change(faster, baseline) < 1e-6


def test_rounds_drawn_alike_are_not_significant() -> None:
    first = summarize_rounds(noisy_rounds(1.0, 30, 0.05, seed=1))
    second = summarize_rounds(noisy_rounds(1.0, 30, 0.05, seed=2))
    assert p_value_of_change(first, second) > SIGNIFICANCE


def test_rounds_without_any_spread_give_no_evidence() -> None:
    assert p_value_of_change(summarize_rounds([0.3] * 7), summarize_rounds([0.3] * 7)) == 1.0


def test_a_median_edited_by_hand_moves_its_rounds_with_it() -> None:
    rounds = noisy_rounds(1.0, 30, 0.01)
    measured = summarize_rounds(rounds)
    edited = replace(summarize_rounds(rounds), median_s=measured.median_s / 100)  # "prove the gate"
    assert p_value_of_change(measured, measured) > 0.4
    assert p_value_of_change(measured, edited) < 1e-6
    assert p_value_of_change(edited, measured) < 1e-6  # faster, in its own direction


def test_the_test_needs_samples() -> None:
    with pytest.raises(ValueError, match="round samples"):
        p_value_of_change(timing(1.0), timing(1.0))


# ---------------------------------------------------------------- detectable slowdown


def test_quiet_rounds_detect_the_tolerance() -> None:
    quiet = summarize_rounds(noisy_rounds(1.0, 30, 0.001))
    assert detectable_slowdown(quiet, quiet, 0.05) == 0.05


def test_without_the_test_the_tolerance_is_what_is_detected() -> None:
    noisy = summarize_rounds(noisy_rounds(1.0, 30, 0.3))
    assert detectable_slowdown(timing(1.0, 0.5), timing(1.0, 0.5), 0.05) == 0.05
    few = summarize_rounds(noisy_rounds(1.0, 2, 0.3))
    assert detectable_slowdown(few, noisy, 0.05) == 0.05


def test_noise_makes_the_detectable_slowdown_larger_than_the_tolerance() -> None:
    # IQR / median 0.1 on both sides, 10 rounds each: 3.17 x sqrt(2 x (0.1 / 1.349)^2 / 10 x pi / 3) = 0.107
    rounds = [1.0 + (i - 4.5) * 0.1 / 4.5 for i in range(10)]  # evenly spaced: the IQR spans 4.5 steps
    summary = summarize_rounds(rounds)
    assert summary.iqr_s / summary.median_s == pytest.approx(0.1)
    assert detectable_slowdown(summary, summary, 0.05) == 0.11


@settings(max_examples=40, deadline=None)
@given(noise=st.floats(0.0, 0.5), rounds=st.integers(5, 40), tolerance=st.floats(0.0, 1.0), seed=st.integers(0, 9))
def test_the_detectable_slowdown_is_at_least_the_tolerance_and_falls_with_more_rounds(
    noise: float, rounds: int, tolerance: float, seed: int
) -> None:
    # From 5 rounds a side the test runs; below, the ratio alone decides and the tolerance is what is detected.
    few = summarize_rounds(noisy_rounds(1.0, rounds, noise, seed))
    many = summarize_rounds(few.samples_s * 4)  # the same spread, four times the rounds
    detectable = detectable_slowdown(few, few, tolerance)
    assert detectable >= tolerance
    assert detectable == tolerance or detectable == round(detectable, 2)  # the noise term is a whole percent
    assert detectable_slowdown(many, many, tolerance) <= detectable
