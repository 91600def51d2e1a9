"""Pure statistics of timed rounds: summaries, the median's interval, and whether two sets of rounds really differ."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from perf.core.results import Timing

# The median's interval: distribution-free (order statistics, scipy.stats.quantile_test), since rounds are skewed.
MEDIAN_CONFIDENCE = 0.95

# A time regression needs the medians' ratio beyond tolerance *and* the rounds' evidence: a one-sided
# Mann-Whitney U test at this level. 1 %, not the customary 5 %: a false alarm fails CI and sends someone
# bisecting, which costs far more than rerunning a case whose real slowdown fell short of significance once.
SIGNIFICANCE = 0.01
# A side of one or two rounds says nothing about its own spread; three is also --min-rounds' default.
MIN_TESTED_ROUNDS = 3
# detectable_slowdown's normal approximation: the shift flagged in DETECTION_POWER of runs (4 in 5, the
# customary power) at SIGNIFICANCE; a normal IQR spans 1.349 standard deviations; on normal data Mann-Whitney
# needs pi/3 times the rounds of a t-test (its asymptotic relative efficiency 3/pi, Hodges and Lehmann 1956).
DETECTION_POWER = 0.8
IQR_PER_SIGMA = 1.349
MANN_WHITNEY_EFFICIENCY = 3 / math.pi
_Z_DETECT = statistics.NormalDist().inv_cdf(1 - SIGNIFICANCE) + statistics.NormalDist().inv_cdf(DETECTION_POWER)


def summarize_rounds(samples_s: Sequence[float]) -> Timing:
    """Median, interquartile range and extremes of per-round seconds (at least one round)."""
    if not samples_s:
        raise ValueError("no timed rounds to summarise")
    ordered = sorted(samples_s)
    if len(ordered) >= 2:
        lower, _, upper = statistics.quantiles(ordered, n=4, method="inclusive")
        iqr = upper - lower
    else:
        iqr = 0.0
    return Timing(
        median_s=statistics.median(ordered),
        iqr_s=iqr,
        min_s=ordered[0],
        max_s=ordered[-1],
        rounds=len(ordered),
        samples_s=tuple(float(sample) for sample in samples_s),  # in the order they ran: drift stays visible
    )


def pooled_timing(timings: Sequence[Timing]) -> Timing:
    """Several independent processes' timings of one case as one: its median the median of their medians (each
    process counts once, however many rounds it took), its rounds all of theirs in process order (what the rank
    test compares), its IQR and extremes those of all rounds. One timing is returned as it is."""
    if not timings:
        raise ValueError("no timings to pool")
    if len(timings) == 1:
        return timings[0]
    samples = tuple(sample for timing in timings for sample in timing.samples_s)
    overall = summarize_rounds(samples) if len(samples) == sum(t.rounds for t in timings) else None
    return Timing(
        median_s=statistics.median(timing.median_s for timing in timings),
        iqr_s=overall.iqr_s if overall else statistics.median(timing.iqr_s for timing in timings),
        min_s=min(timing.min_s for timing in timings),
        max_s=max(timing.max_s for timing in timings),
        rounds=sum(timing.rounds for timing in timings),
        samples_s=samples if overall else (),
    )


def between_run_spread(medians_s: Sequence[float]) -> float:
    """The relative standard deviation of independent processes' medians of one case (0 for fewer than two)."""
    if len(medians_s) < 2:
        return 0.0
    center = statistics.median(medians_s)
    return statistics.stdev(medians_s) / center if center > 0 else 0.0


def median_interval_reach(samples_s: Sequence[float]) -> float:
    """How far the median's 95 % confidence interval reaches from the median, its farther end, relative to the
    median (rounds are skewed, so the interval is lopsided); inf while the rounds are too few for one (fewer than
    6: the interval's ends would lie beyond the smallest and largest round)."""
    from scipy.stats import quantile_test  # here, not at import: show, diff and prune never need it

    median = statistics.median(samples_s) if samples_s else 0.0
    if median <= 0:
        return math.inf
    interval = quantile_test(samples_s, q=median, p=0.5).confidence_interval(MEDIAN_CONFIDENCE)
    low, high = float(interval.low), float(interval.high)
    if math.isnan(low) or math.isnan(high):
        return math.inf
    return max(high - median, median - low) / median


def whole_percent_up(fraction: float) -> float:
    # Round away binary noise first: 0.07 * 100 is 7.000000000000001, which must stay 7 %, not become 8 %.
    return math.ceil(round(fraction * 100, 9)) / 100


# Why Mann-Whitney U: it compares ranks, so it assumes no normal distribution (GPU rounds are skewed: a floor
# set by the kernels, a tail of launch and clock hiccups) and an outlier round counts as one rank, whatever
# its size; it needs no resampling, so the same rounds always get the same verdict. A bootstrap interval of
# the ratio of medians would speak in the ratio's units, but it resamples (random unless seeded) and its
# intervals are unreliable at the 3-10 rounds the slowest cases get in their 5 s budget.


def untested_reason(measured: Timing, baseline: Timing) -> str:
    """Why the rank test cannot weigh in on these two timings (the ratio alone decides), or "" when it can.

    Without ties the smallest one-sided p the test can give is 1 / C(n + m, n): 3 rounds against 3 never get
    below 0.05, so too few rounds are named rather than read as "not significant".
    """
    if not baseline.samples_s:
        return "no round samples in the baseline entry"
    if not measured.samples_s:
        return "no round samples in this run"
    measured_n, baseline_n = len(measured.samples_s), len(baseline.samples_s)
    if min(measured_n, baseline_n) < MIN_TESTED_ROUNDS or math.comb(measured_n + baseline_n, measured_n) <= (
        1 / SIGNIFICANCE
    ):
        return f"{measured_n} rounds against the baseline's {baseline_n} cannot reach p < {SIGNIFICANCE:g}"
    return ""


def p_value_of_change(measured: Timing, baseline: Timing) -> float:
    """One-sided Mann-Whitney U p that measured's rounds are slower than baseline's; faster where its median is lower.

    Each side's rounds are scaled to its recorded median first: a no-op for what the suite writes, while a
    median edited by hand (to prove the gate) moves the whole distribution with it.
    """
    if not measured.samples_s or not baseline.samples_s:
        raise ValueError("the rank test needs round samples on both sides")
    alternative = "greater" if measured.median_s >= baseline.median_s else "less"
    from scipy.stats import mannwhitneyu  # here, not at import: scipy costs the CLI's file commands a second

    p_value = float(mannwhitneyu(_at_median(measured), _at_median(baseline), alternative=alternative).pvalue)
    return 1.0 if math.isnan(p_value) else p_value  # no spread on either side: no evidence


def _at_median(timing: Timing) -> tuple[float, ...]:
    own = statistics.median(timing.samples_s)
    if own <= 0 or own == timing.median_s:
        return timing.samples_s
    return tuple(sample * (timing.median_s / own) for sample in timing.samples_s)


def detectable_slowdown(measured: Timing, baseline: Timing, tolerance: float) -> float:
    """The smallest slowdown (a fraction) the gate would flag here: the tolerance, or more where rounds are noisy.

    The noise term is the shift the test detects in 4 runs of 5 if rounds were normal with sigma = IQR / 1.349:
    (z(1 - SIGNIFICANCE) + z(0.8)) * sqrt((s_m^2 / n_m + s_b^2 / n_b) * pi / 3), s being each side's IQR / median
    over its own rounds, rounded up to a whole percent. Where the ratio alone decides, that is the tolerance.
    """
    if untested_reason(measured, baseline):
        return tolerance
    variance = sum(_relative_sigma(side.samples_s) ** 2 / len(side.samples_s) for side in (measured, baseline))
    return max(tolerance, whole_percent_up(_Z_DETECT * math.sqrt(variance / MANN_WHITNEY_EFFICIENCY)))


def _relative_sigma(samples_s: Sequence[float]) -> float:
    summary = summarize_rounds(samples_s)
    return summary.iqr_s / summary.median_s / IQR_PER_SIGMA if summary.median_s > 0 else 0.0
