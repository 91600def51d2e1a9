"""Pure statistics: summarise timed rounds, hold a case to a tolerance, and test whether its rounds really moved."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from perf.results import Timing

# The median's interval: distribution-free (order statistics, scipy.stats.quantile_test), since rounds are skewed.
MEDIAN_CONFIDENCE = 0.95

# The least slowdown a GPU-bound case is held to: between-run drift on the lent H100 (aggregator, 20 frames,
# 20 A/A runs of 5 s each in one process) spanned x0.988-x1.019 of its median (sd 0.9 %), and a real 5 % slowdown
# measured x1.037-x1.062 against a baseline 1.5 % slow. With each of the 21 runs as the baseline in turn, 3 % gave 1
# false regression in 420 pairs (x1.031) and caught 5 % in 210 of 210: just above the drift (docs/gate-trials.md).
DEFAULT_TIME_TOLERANCE = 0.03
# Peak allocations repeat to the byte for one torch build and input; 2 % absorbs allocator
# rounding across library updates while still catching a leaked activation at VGGT's sizes.
DEFAULT_MEMORY_TOLERANCE = 0.02
# The baseline's median is known within +-reach (its 95 % interval) and the run's about as well, so their ratio
# moves by up to twice that without any change.
NOISE_MULTIPLIER = 2.0
# Rounds too few for the median's interval to leave out their fastest and slowest (fewer than 9: from 6 to 8 rounds
# it spans them all, so one slow round would set the tolerance): three interquartile ranges of them instead.
IQR_MULTIPLIER = 3.0
INTERVAL_MIN_ROUNDS = 9


@dataclass(frozen=True)
class Regime:
    """Cases whose median is below below_s are held to at least tolerance: between runs their time moves by more
    than one run's rounds show. Each workload has its own (perf.workloads), since its scale differs."""

    below_s: float
    tolerance: float


# Below these medians VGGT's forward (thousands of kernel launches) is set by the host launching kernels, and the
# host's speed moves between runs more than any round of one run shows. On the lent H100 (aggregator, 350x518):
# at 1 frame (0.057-0.11 s) the medians of 21 runs in one process spanned x1.94, so only a doubling is caught;
# at 8 frames (0.113-0.14 s, GPU and host about even) the process's first run was 21 % slower than the twenty
# after it, and runs interleaved with other work spanned x1.17-x1.25. From 20 frames (0.30 s) the GPU sets the
# time (docs/gate-trials.md).
LAUNCH_BOUND = Regime(below_s=0.1, tolerance=1.0)
HOST_BOUND = Regime(below_s=0.25, tolerance=0.3)
VGGT_REGIMES = (LAUNCH_BOUND, HOST_BOUND)
# Attention alone is one or two kernels, so its scale is milliseconds. On the lent H100, A/A runs against a
# baseline taken minutes before (docs/measurements/2026-11-27-h100-rerecord): below 1 ms the
# host's speed is bimodal again (1 frame, 0.15-0.27 ms: x0.62-x1.13, so up to x1.8 from a fast baseline; 8 frames,
# 0.85 ms: x0.92-x1.02); from 1 to 20 ms short kernels drift beyond the 3 % floor (20 frames, 3.5-11 ms:
# x0.955-x1.047 in 39 comparisons); at 100 frames (87-260 ms) x0.997-x1.008, within it.
ATTENTION_LAUNCH_BOUND = Regime(below_s=0.001, tolerance=1.0)
ATTENTION_SHORT_KERNELS = Regime(below_s=0.02, tolerance=0.1)
ATTENTION_REGIMES = (ATTENTION_LAUNCH_BOUND, ATTENTION_SHORT_KERNELS)

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


def time_tolerance_for(timing: Timing, regimes: Sequence[Regime], default: float = DEFAULT_TIME_TOLERANCE) -> float:
    """The slowdown (as a fraction) a case is held to: the default, widened by how well its rounds know their median
    and by the floor of every regime of its workload that its median falls in."""
    return _whole_percent_up(max(default, median_uncertainty(timing), _regime_tolerance(timing, regimes)))


def median_uncertainty(timing: Timing) -> float:
    """How far the ratio of two such medians moves by chance: twice the reach of the median's 95 % interval from
    9 rounds on, else three IQRs of the rounds (or of the summary, where no rounds were kept); 0 for a zero median."""
    if timing.median_s <= 0:
        return 0.0
    if len(timing.samples_s) >= INTERVAL_MIN_ROUNDS:
        reach = median_interval_reach(timing.samples_s)
        if math.isfinite(reach):  # rounds of a zero median say nothing about it
            return NOISE_MULTIPLIER * reach
    return IQR_MULTIPLIER * timing.iqr_s / timing.median_s


def _regime_tolerance(timing: Timing, regimes: Sequence[Regime]) -> float:
    return max((regime.tolerance for regime in regimes if timing.median_s < regime.below_s), default=0.0)


def _whole_percent_up(fraction: float) -> float:
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
    return max(tolerance, _whole_percent_up(_Z_DETECT * math.sqrt(variance / MANN_WHITNEY_EFFICIENCY)))


def _relative_sigma(samples_s: Sequence[float]) -> float:
    summary = summarize_rounds(samples_s)
    return summary.iqr_s / summary.median_s / IQR_PER_SIGMA if summary.median_s > 0 else 0.0
