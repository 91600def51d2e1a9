"""The tolerance policy: how much slower (or heavier) a case may get before it regresses, from its own rounds, its
workload's regimes and the least tolerance; pure, as an update, a conversion and retolerate all apply it."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from perf.core.baselines import Baseline, BaselineEntry
from perf.core.results import CaseKey, Evidence, Memory, Timing
from perf.core.stats import between_run_spread, median_interval_reach, pooled_timing, whole_percent_up

# The least slowdown a case is held to, where the GPU sets its time for a second and more. On the lent H200
# (aggregator at 100 frames, 2.95-2.98 s, 12 separate processes over three device calls on two machines,
# docs/gate-trials.md) every 3 of them as the baseline in turn judged the other 9: A/A x0.993-x1.007, 0 false
# regressions in 1980 gate runs at +2 %, while a real 3 % slowdown (x1.029-x1.042) was caught in 1485 of 1485 and 2 %
# in 755 of 825. Shorter cases drift more between processes and are held to more by their regimes below.
DEFAULT_TIME_TOLERANCE = 0.02
# An entry of one process (an older file, a single --update-baselines run) knows nothing of the spread between
# processes, which is what makes 2 % safe above: it is held to the 3 % the suite used before pooling, whose
# single-process trials (docs/gate-trials.md, lent H100) gave 1 false regression in 420 pairs.
SINGLE_PROCESS_TOLERANCE = 0.03
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
# Between processes a case moves by more than its rounds show: on the lent H200 (aggregator, 350x518, 9 processes
# of one machine, docs/gate-trials.md) the processes' medians had a standard deviation of 1.1 % at 20 frames and
# 0.3 % at 100. A gate run is a new process, so an entry recorded by k processes is held to at least the change
# that the mean of a run and its confirmation re-run (perf.core.confirmation) reaches by chance once in 100: z(0.99)
# of the spread of a mean of CONFIRMING_RUNS runs against a median of k, sqrt(1 / 2 + 1 / k) standard deviations.
BETWEEN_Z = 2.33
CONFIRMING_RUNS = 2


@dataclass(frozen=True)
class Regime:
    """Cases whose median is below below_s are held to at least tolerance: between runs their time moves by more
    than one run's rounds show. Each workload has its own (perf.workloads.registry), since its scale differs.

    between_processes marks a floor set for the offset each separate process carries (a stored baseline against a
    gate run, measured by the spread of separate processes' medians), not for anything a run's own rounds or the
    host's speed within a job do: a paired run with several workers a side measures that offset itself, so it
    drops such floors (within_one_job)."""

    below_s: float
    tolerance: float
    between_processes: bool = False


# Below these medians VGGT's forward (thousands of kernel launches) is set by the host launching kernels, and the
# host's speed moves between runs more than any round of one run shows. On the lent H100 (aggregator, 350x518):
# at 1 frame (0.057-0.11 s) the medians of 21 runs in one process spanned x1.94, so only a doubling is caught;
# at 8 frames (0.113-0.14 s, GPU and host about even) the process's first run was 21 % slower than the twenty
# after it, and runs interleaved with other work spanned x1.17-x1.25. From 20 frames (0.30 s) the GPU sets the
# time (docs/gate-trials.md).
LAUNCH_BOUND = Regime(below_s=0.1, tolerance=1.0)
HOST_BOUND = Regime(below_s=0.25, tolerance=0.3)
# Below a second the GPU sets the time, but separate processes' medians spread more: on the lent H200 at 20 frames
# (0.28-0.29 s) with a standard deviation of 1.1 % (x0.972-x1.037 in 1980 A/A gate runs: 7 beyond +3 % in the first
# run, none confirmed; at +2 %, 1.2-2.2 % were confirmed false regressions). 3 % holds them.
SUB_SECOND = Regime(below_s=1.0, tolerance=0.03, between_processes=True)
VGGT_REGIMES = (LAUNCH_BOUND, HOST_BOUND, SUB_SECOND)
# Attention alone is one or two kernels, so its scale is milliseconds. On the lent H100, A/A runs against a
# baseline taken minutes before (docs/measurements/2026-11-27-h100-rerecord): below 1 ms the
# host's speed is bimodal again (1 frame, 0.15-0.27 ms: x0.62-x1.13, so up to x1.8 from a fast baseline; 8 frames,
# 0.85 ms: x0.92-x1.02); from 1 to 20 ms short kernels drift beyond the 3 % floor (20 frames, 3.5-11 ms:
# x0.955-x1.047 in 39 comparisons); at 100 frames (87-260 ms) x0.997-x1.008, within it.
ATTENTION_LAUNCH_BOUND = Regime(below_s=0.001, tolerance=1.0)
ATTENTION_SHORT_KERNELS = Regime(below_s=0.02, tolerance=0.1)
# Attention at 100 frames (87-260 ms) repeated within 0.2 % between the H200's processes, but it was measured in 3
# processes only: below a second it keeps the 3 % it was held to before the least tolerance became 2 %.
ATTENTION_SUB_SECOND = Regime(below_s=1.0, tolerance=0.03, between_processes=True)
ATTENTION_REGIMES = (ATTENTION_LAUNCH_BOUND, ATTENTION_SHORT_KERNELS, ATTENTION_SUB_SECOND)


def within_one_job(regimes: Sequence[Regime]) -> tuple[Regime, ...]:
    """The regimes that still apply when base and head are measured in one job, each side by several processes whose
    spread the tolerance takes in (perf.paired.judgement): every one but those set for the offset between separate
    processes (Regime.between_processes). The host- and launch-bound floors stay: the host's speed moves within a
    job too."""
    return tuple(regime for regime in regimes if not regime.between_processes)


def time_tolerance_for(
    timing: Timing,
    regimes: Sequence[Regime],
    default: float = DEFAULT_TIME_TOLERANCE,
    process_medians_s: Sequence[float] = (),
) -> float:
    """The slowdown (as a fraction) a case is held to: the default (SINGLE_PROCESS_TOLERANCE at least for an entry of
    one process), widened by how well its rounds know their median, by how far its processes' medians spread (where
    several processes recorded it) and by the floor of every regime of its workload that its median falls in."""
    single = SINGLE_PROCESS_TOLERANCE if len(process_medians_s) < 2 else 0.0
    return whole_percent_up(
        max(
            default,
            single,
            median_uncertainty(timing),
            between_run_tolerance(process_medians_s),
            _regime_tolerance(timing, regimes),
        )
    )


def between_run_tolerance(process_medians_s: Sequence[float]) -> float:
    """The change between processes that a confirmed verdict reaches by chance once in 100 (BETWEEN_Z); 0 for an
    entry of one process, whose spread between processes is unknown."""
    k = len(process_medians_s)
    if k < 2:
        return 0.0
    return BETWEEN_Z * between_run_spread(process_medians_s) * math.sqrt(1 / CONFIRMING_RUNS + 1 / k)


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


def new_entry(
    key: CaseKey,
    dtype: str,
    timing: Timing,
    memory: Memory | None,
    evidence: Evidence,
    *,
    least_time_tolerance: float,
    memory_tolerance: float,
    regimes: Sequence[Regime],
    process_medians_s: Sequence[float] = (),
) -> BaselineEntry:
    """An entry as an update writes it: its time tolerance widened by its rounds' noise, its processes' spread and its
    regime (perf.core.stats); merge sets its run. timing pools the processes where there are several."""
    time_tolerance = time_tolerance_for(timing, regimes, least_time_tolerance, process_medians_s)
    return BaselineEntry(
        key,
        dtype,
        timing,
        memory,
        time_tolerance,
        memory_tolerance,
        run="",
        evidence=evidence,
        process_medians_s=tuple(process_medians_s) if len(process_medians_s) > 1 else (),
    )


def pooled_entry(
    key: CaseKey,
    dtype: str,
    timings: Sequence[Timing],
    memory: Memory | None,
    evidence: Evidence,
    *,
    least_time_tolerance: float,
    memory_tolerance: float,
    regimes: Sequence[Regime],
) -> BaselineEntry:
    """The entry of independent processes' timings of one case (perf.core.stats.pooled_timing), its tolerance
    covering their spread; one timing makes an entry of one process."""
    return new_entry(
        key,
        dtype,
        pooled_timing(timings),
        memory,
        evidence,
        least_time_tolerance=least_time_tolerance,
        memory_tolerance=memory_tolerance,
        regimes=regimes,
        process_medians_s=[timing.median_s for timing in timings],
    )


def retolerated(baseline: Baseline, regimes: Mapping[str, Sequence[Regime]], least_time_tolerance: float) -> Baseline:
    """Every entry of a registered workload with its time tolerance recomputed by the current policy from its own
    recorded rounds, as an update would write it now (pure); timings, memory and runs are untouched."""
    entries = {
        case_id: replace(
            entry,
            time_tolerance=time_tolerance_for(
                entry.timing, regimes[entry.key.workload], least_time_tolerance, entry.process_medians_s
            ),
        )
        if entry.key.workload in regimes
        else entry
        for case_id, entry in baseline.entries.items()
    }
    return replace(baseline, entries=entries)
