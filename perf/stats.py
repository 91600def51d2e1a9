"""Pure statistics: summarise timed rounds and derive how much slowdown a case can be held to."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from perf.results import Timing

# The gate must catch a 5 % slowdown where the GPU, not the host, sets the time (issue #3).
DEFAULT_TIME_TOLERANCE = 0.05
# Peak allocations repeat to the byte for one torch build and input; 2 % absorbs allocator
# rounding across library updates while still catching a leaked activation at VGGT's sizes.
DEFAULT_MEMORY_TOLERANCE = 0.02
# A slowdown smaller than three interquartile ranges of the rounds is within the case's own noise.
NOISE_MULTIPLIER = 3.0
# Below this median VGGT's forward (thousands of kernel launches) is bound by the host launching
# kernels: on the lent H100 the aggregator at 350x518 took <= 0.11 s up to 8 frames, where medians
# of consecutive runs in one process ranged over 22-48 %; at 20 frames (0.30 s) they repeated
# within 3 % (issue #3). Workloads of a few launches declare no such regime.
HOST_BOUND_BELOW_S = 0.25
HOST_BOUND_TIME_TOLERANCE = 0.5


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
    )


def time_tolerance_for(
    timing: Timing, default: float = DEFAULT_TIME_TOLERANCE, host_bound_below_s: float = HOST_BOUND_BELOW_S
) -> float:
    """The slowdown (as a fraction) a case is held to, widened by its measured noise and regime."""
    noise = NOISE_MULTIPLIER * timing.iqr_s / timing.median_s if timing.median_s > 0 else 0.0
    regime = HOST_BOUND_TIME_TOLERANCE if timing.median_s < host_bound_below_s else 0.0
    # Round away binary noise first: 0.07 * 100 is 7.000000000000001, which must stay 7 %, not become 8 %.
    return math.ceil(round(max(default, noise, regime) * 100, 9)) / 100
