"""Round summaries and the tolerance a case is held to."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perf.results import Timing
from perf.stats import (
    DEFAULT_TIME_TOLERANCE,
    HOST_BOUND_BELOW_S,
    HOST_BOUND_TIME_TOLERANCE,
    NOISE_MULTIPLIER,
    summarize_rounds,
    time_tolerance_for,
)

seconds = st.floats(min_value=1e-6, max_value=100.0, allow_nan=False, allow_infinity=False)


def timing(median_s: float, iqr_s: float = 0.0) -> Timing:
    return Timing(median_s=median_s, iqr_s=iqr_s, min_s=median_s, max_s=median_s + iqr_s, rounds=10)


def test_summarize_rounds_refuses_no_rounds() -> None:
    with pytest.raises(ValueError, match="no timed rounds"):
        summarize_rounds([])


def test_one_round_has_no_spread() -> None:
    assert summarize_rounds([0.25]) == Timing(median_s=0.25, iqr_s=0.0, min_s=0.25, max_s=0.25, rounds=1)


def test_summarize_rounds_sorts_before_summarising() -> None:
    assert summarize_rounds([3.0, 1.0, 5.0, 2.0, 4.0]) == Timing(
        median_s=3.0, iqr_s=2.0, min_s=1.0, max_s=5.0, rounds=5
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
    assert summarize_rounds(shuffled) == summary
    assert summary.rounds == len(samples)
    assert summary.min_s == min(samples)
    assert summary.max_s == max(samples)
    assert summary.min_s <= summary.median_s <= summary.max_s
    assert 0.0 <= summary.iqr_s <= (summary.max_s - summary.min_s) * (1 + 1e-9)


def test_quiet_gpu_bound_case_gets_the_default() -> None:
    assert time_tolerance_for(timing(0.5)) == DEFAULT_TIME_TOLERANCE == 0.05


@pytest.mark.parametrize("percent", range(1, 100))
def test_a_whole_percent_default_is_kept_exactly(percent: int) -> None:
    # 0.07 * 100 is 7.000000000000001 in binary floating point; it must not round up to 8 %.
    assert time_tolerance_for(timing(1.0), default=percent / 100) == percent / 100


def test_the_default_is_a_floor_for_quiet_cases() -> None:
    assert time_tolerance_for(timing(1.0, iqr_s=0.001), default=0.1) == 0.1


def test_noise_widens_the_tolerance_to_three_iqrs() -> None:
    # 3 x 0.03 / 1.0 = 9 %
    assert time_tolerance_for(timing(1.0, iqr_s=0.03)) == 0.09


def test_noise_is_relative_to_the_median() -> None:
    assert time_tolerance_for(timing(2.0, iqr_s=0.06)) == 0.09


def test_widened_tolerance_rounds_up_to_a_whole_percent() -> None:
    # 3 x 0.021 / 1.0 = 6.3 %, held to 7 %
    assert time_tolerance_for(timing(1.0, iqr_s=0.021)) == 0.07


def test_fraction_of_a_percent_above_default_rounds_up() -> None:
    assert time_tolerance_for(timing(1.0), default=0.051) == 0.06


def test_host_bound_case_gets_the_host_bound_floor() -> None:
    assert time_tolerance_for(timing(0.1)) == HOST_BOUND_TIME_TOLERANCE == 0.5


def test_host_bound_regime_starts_strictly_below_the_threshold() -> None:
    assert time_tolerance_for(timing(HOST_BOUND_BELOW_S)) == DEFAULT_TIME_TOLERANCE
    assert time_tolerance_for(timing(math.nextafter(HOST_BOUND_BELOW_S, 0.0))) == HOST_BOUND_TIME_TOLERANCE


def test_a_workload_without_a_host_bound_regime_keeps_the_default() -> None:
    assert time_tolerance_for(timing(0.001), host_bound_below_s=0.0) == DEFAULT_TIME_TOLERANCE


def test_noise_beyond_the_host_bound_floor_still_widens() -> None:
    # 3 x 0.02 / 0.1 = 60 %
    assert time_tolerance_for(timing(0.1, iqr_s=0.02)) == 0.6


def test_zero_median_counts_no_noise() -> None:
    assert time_tolerance_for(timing(0.0, iqr_s=1.0), host_bound_below_s=0.0) == DEFAULT_TIME_TOLERANCE


@settings(max_examples=100, deadline=None)
@given(
    median_s=seconds,
    iqr_fraction=st.floats(min_value=0.0, max_value=2.0),
    default=st.floats(min_value=0.0, max_value=1.0),
    host_bound_below_s=st.sampled_from([0.0, HOST_BOUND_BELOW_S, 10.0]),
)
def test_tolerance_is_the_widest_floor_rounded_up_to_a_whole_percent(
    median_s: float, iqr_fraction: float, default: float, host_bound_below_s: float
) -> None:
    iqr_s = iqr_fraction * median_s
    tolerance = time_tolerance_for(timing(median_s, iqr_s), default, host_bound_below_s)
    noise = NOISE_MULTIPLIER * iqr_s / median_s
    regime = HOST_BOUND_TIME_TOLERANCE if median_s < host_bound_below_s else 0.0
    wanted = max(default, noise, regime)
    assert tolerance == round(tolerance, 2)  # a whole percent
    assert wanted - 1e-9 <= tolerance <= wanted + 0.01


@settings(max_examples=60, deadline=None)
@given(median_s=seconds, low=st.floats(0.0, 1.0), high=st.floats(0.0, 1.0))
def test_more_noise_never_narrows_the_tolerance(median_s: float, low: float, high: float) -> None:
    low, high = sorted((low, high))
    assert time_tolerance_for(timing(median_s, low * median_s)) <= time_tolerance_for(timing(median_s, high * median_s))
