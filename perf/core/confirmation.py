"""Confirmation before failing (pure): a case whose time regressed in a gate run is measured again in a fresh process
(pytest --confirm-from FIRST.json), and the verdict rests on both runs together.

Why this policy (docs/gate-trials.md, 9 separate processes on a lent H200): between processes the aggregator's median
at 20 frames moved with a standard deviation of 1.1 %, so one process beyond a 3 % tolerance is often drift, while
a real slowdown shows in the next process too. Requiring both runs beyond tolerance loses real slowdowns whose
second run lands just under it; the geometric mean of the two runs' medians, judged like one run (its ratio beyond
the tolerance and the rank test of both runs' rounds against the baseline's), halves the drift's variance instead.
Replayed over the trial data: 0 false regressions in 504 A/A pairs at 20 and at 100 frames, and the same or better
catch rates than both-beyond at every slowdown.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from perf.core.baselines import BaselineEntry
from perf.core.compare import compare_metrics, compare_time, describe, judge
from perf.core.conversion import SuiteBenchmark
from perf.core.results import CaseResult, Outcome, Timing, Verdict, VerdictKind


def as_result(benchmark: SuiteBenchmark) -> CaseResult:
    """What a --benchmark-json file recorded of a case, as the result the gate judged."""
    return CaseResult(
        benchmark.key,
        benchmark.outcome,
        benchmark.dtype,
        benchmark.timing,
        benchmark.memory,
        benchmark.reason,
        benchmark.evidence,
    )


def time_regressed_only(verdict: Verdict) -> bool:
    """A regression of time and of nothing else: the one failure a re-run can contradict (memory repeats to the byte,
    a wrong output is wrong however fast)."""
    if verdict.kind is not VerdictKind.REGRESSION or not verdict.comparisons:
        return False
    kinds = {c.metric: c.kind for c in verdict.comparisons}
    return kinds.get("time") is VerdictKind.REGRESSION and all(
        kind is not VerdictKind.REGRESSION for metric, kind in kinds.items() if metric != "time"
    )


def first_run_verdicts(
    first: Mapping[str, CaseResult], entries: Mapping[str, BaselineEntry], require_baseline: bool
) -> dict[str, Verdict]:
    """The first run's verdicts, judged again against the baseline the confirmation uses."""
    return {case_id: judge(result, entries.get(case_id), require_baseline) for case_id, result in first.items()}


def to_confirm(verdicts: Mapping[str, Verdict]) -> list[str]:
    """The cases a confirmation run re-measures, in the order given."""
    return [case_id for case_id, verdict in verdicts.items() if time_regressed_only(verdict)]


def standing_failures(verdicts: Iterable[Verdict]) -> list[Verdict]:
    """The first run's failures a re-run cannot change (WRONG, a memory regression, no baseline under
    --require-baseline): they fail the confirmation run too, said as the first run's."""
    failing = (VerdictKind.WRONG, VerdictKind.REGRESSION)
    return [
        Verdict(v.case_id, v.kind, f"{v.reason} (first run; not re-measured: a re-run cannot change it)", v.comparisons)
        for v in verdicts
        if v.kind in failing and not time_regressed_only(v)
    ]


def confirm(first: CaseResult, rerun: CaseResult, entry: BaselineEntry) -> Verdict:
    """The final verdict on a case whose time regressed in `first`: both runs together, said in one line."""
    case_id = rerun.key.case_id
    if rerun.outcome is not Outcome.OK or rerun.timing is None or first.timing is None:
        return judge(rerun, entry)
    together = _together(first.timing, rerun.timing)
    time = compare_time(together, entry.timing, entry.time_tolerance)
    others = [c for c in compare_metrics(rerun, entry) if c.metric != "time"]
    worst = min((c.kind for c in (time, *others)), key=lambda kind: kind.rank)
    first_ratio = first.timing.median_s / entry.timing.median_s
    rerun_ratio = rerun.timing.median_s / entry.timing.median_s
    if time.kind is VerdictKind.REGRESSION:
        reason = (
            f"{describe(case_id, time)}; confirmed on re-run: x{first_ratio:.3f} then x{rerun_ratio:.3f}, "
            f"their geometric mean above"
        )
    else:
        regressed = [c for c in others if c.kind is VerdictKind.REGRESSION]
        memory = f"; {describe(case_id, *regressed).split(': ', 1)[1]}" if regressed else ""
        reason = (
            f"{case_id}: not confirmed: x{rerun_ratio:.3f} on re-run (first run x{first_ratio:.3f}; together "
            f"x{time.ratio:.3f}, tolerance +{entry.time_tolerance:.0%}){memory}"
        )
        if worst is VerdictKind.IMPROVED:
            worst = VerdictKind.PASS  # a slow run and a fast one together are no improvement to report
    suspect = rerun.clocks.suspect
    return Verdict(case_id, worst, reason + (f" [suspect: {suspect}]" if suspect else ""), (time, *others))


def _together(first: Timing, rerun: Timing) -> Timing:
    """Both runs as one timing: the geometric mean of their medians, all their rounds."""
    median = math.sqrt(first.median_s * rerun.median_s)
    return Timing(
        median_s=median,
        iqr_s=max(first.iqr_s, rerun.iqr_s),
        min_s=min(first.min_s, rerun.min_s),
        max_s=max(first.max_s, rerun.max_s),
        rounds=first.rounds + rerun.rounds,
        samples_s=first.samples_s + rerun.samples_s if first.samples_s and rerun.samples_s else (),
    )
