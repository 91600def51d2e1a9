"""One gate trial's verdict with the numbers behind it, and the A/A and sensitivity tables of many (pure)."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Sequence

from perf.core.baselines import BaselineEntry
from perf.core.compare import judge
from perf.core.results import CaseResult, Outcome, VerdictKind


@dataclasses.dataclass(frozen=True)
class Trial:
    """One gate verdict on time: a case measured again (slowdown 0: unchanged) and judged against its baseline."""

    case_id: str
    frames: int
    slowdown: float
    added_s: float  # the calibrated work per forward
    verdict: str
    ratio: float
    tolerance: float
    detectable: float
    p_value: float | None
    rounds: int
    rounds_ended_by: str
    suspect: str
    samples_s: tuple[float, ...] = ()  # the rounds, so the verdict can be recomputed under another policy
    sm_clock_mean_mhz: float = 0.0  # NVML's mean SM clock over the rounds: time x clock is the cycle-space time


def trial(result: CaseResult, entry: BaselineEntry, frames: int, slowdown: float, added_s: float) -> Trial:
    """The gate's verdict on one measurement, with the numbers behind it (pure)."""
    verdict = judge(result, entry)
    time_comparison = next((c for c in verdict.comparisons if c.metric == "time"), None)
    if result.outcome is not Outcome.OK or result.timing is None or time_comparison is None:
        raise TrialError(f"{result.key.case_id}: not measured ({verdict.reason})")
    return Trial(
        result.key.case_id,
        frames,
        slowdown,
        added_s,
        time_comparison.kind.value,
        time_comparison.ratio,
        time_comparison.tolerance,
        time_comparison.detectable,
        time_comparison.p_value,
        result.timing.rounds,
        result.rounds_ended_by,
        result.clocks.suspect,
        result.timing.samples_s,
        result.clocks.sm_clock_mean_mhz,
    )


class TrialError(Exception):
    """A case that could not be measured: the trials stop with this one line."""


def tables(trials: Sequence[Trial]) -> list[str]:
    """The A/A table and the sensitivity table, as markdown lines (pure)."""
    regression = VerdictKind.REGRESSION.value
    lines = [
        "| frames | A/A runs | false regressions | ratio median | ratio max | detectable median |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    frames_seen = sorted({t.frames for t in trials})
    for frames in frames_seen:
        same = [t for t in trials if t.frames == frames and t.slowdown == 0]
        if same:
            lines.append(
                f"| {frames} | {len(same)} | {sum(t.verdict == regression for t in same)} "
                f"| x{statistics.median(t.ratio for t in same):.3f} | x{max(t.ratio for t in same):.3f} "
                f"| {statistics.median(t.detectable for t in same):.0%} |"
            )
    lines += ["", "| frames | slowdown | caught | ratio median | tolerance median |", "|---:|---:|---:|---:|---:|"]
    for frames in frames_seen:
        for slowdown in sorted({t.slowdown for t in trials if t.frames == frames and t.slowdown > 0}):
            runs = [t for t in trials if t.frames == frames and t.slowdown == slowdown]
            lines.append(
                f"| {frames} | {slowdown:.0%} | {sum(t.verdict == regression for t in runs)} of {len(runs)} "
                f"| x{statistics.median(t.ratio for t in runs):.3f} "
                f"| {statistics.median(t.tolerance for t in runs):.0%} |"
            )
    return lines
