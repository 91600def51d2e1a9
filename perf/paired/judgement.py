"""The verdict of a paired case with the suite's own statistics, head judged against base as a run against its
baseline entry; and what else the run says in words (the environments' differences, a trial's label). Pure.

Each side has N worker processes (--workers), and each process carries an offset of its own (on the lent H200 the
aggregator's median at 20 frames moved between processes with a standard deviation of 1.1 %), so a side's timing is
perf.core.stats.pooled_timing of its workers' timings: the median of their medians, every round kept for the rank
test, as the baseline pools the processes that recorded an entry.

The tolerance rule: time_tolerance_for(base_pooled, regimes, least, process_medians_s=...) with the worker medians
of BOTH sides, each normalised to its own side's median and scaled back by base's,
`[m / median(base) for m in base] + [m / median(head) for m in head]` times median(base) (tolerance_medians). Each
side's own median is divided out, so a real difference between head and base never widens the tolerance; what
remains is the spread of processes within a side, estimated from 2N of them. Chosen over the alternative
max(time_tolerance_for(base_pooled, regimes, least), between_run_tolerance(...)) because that one calls
time_tolerance_for without process medians, which always floors it at SINGLE_PROCESS_TOLERANCE (3 %) and so throws
away what N workers measured: with the medians passed, a case of a second and more can be held to the least
tolerance when its processes agree, and the between-process term is the same between_run_tolerance either way. That
term is z(0.99) * spread * sqrt(1 / 2 + 1 / k) with k = 2N; the difference of two medians of N processes each moves
by about spread * sqrt(2 / N), which the factor matches at N = 3 (the default, both 0.816), undershoots by 13 % at
N = 2 and exceeds beyond 3 (wider, so safe). With one worker per side no medians are passed (two normalised medians
would be base's twice, a spread of 0 that knows nothing), so time_tolerance_for applies SINGLE_PROCESS_TOLERANCE as
for any entry of one process.

The regimes: with several workers a side the verdict drops the floors set for the offset between separate processes
(perf.core.tolerance.within_one_job: SUB_SECOND, ATTENTION_SUB_SECOND, +3 % below a second), since the 2N worker
medians measure that offset for this very run and widen the tolerance by it; the host- and launch-bound floors stay.
Measured on the lent H200 (aggregator, 20 frames, 3 workers a side, docs/paired.md): the workers' medians within a
side spread by 0.1-0.4 %, so their term asked for 0.26-0.64 % where the sub-second floor held the case to +3 %, and
a head slowed by 3 % (x1.030, rank test p = 1.5e-11) passed; without that floor the case is held to the least
tolerance (+2 %). With one worker a side every regime applies, as for a stored baseline.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence

from perf.core.compare import compare_time, describe
from perf.core.environment_diff import FieldDifference, environment_differences
from perf.core.results import Timing, Verdict, VerdictKind
from perf.core.stats import pooled_timing, summarize_rounds
from perf.core.tolerance import Regime, time_tolerance_for, within_one_job

HEADER = "paired: head vs base, each line 'time HEAD s vs baseline BASE s (head/base, tolerance)'"


def header(workers: int, label: str = "") -> str:
    """The run's first line: HEADER, the workers per side, and a trial's label."""
    each = f"{workers} worker{'s' if workers != 1 else ''} per side"
    return f"{HEADER} ({each})" + (f"; {label}" if label else "")


def pooled_side(samples_by_worker: Sequence[Sequence[float]]) -> Timing:
    """One side's timing: its workers' timings pooled (the median of their medians, all their rounds)."""
    return pooled_timing([summarize_rounds(samples) for samples in samples_by_worker])


def tolerance_medians(base_medians_s: Sequence[float], head_medians_s: Sequence[float]) -> tuple[float, ...]:
    """The process medians the tolerance is widened by: every worker's median over its own side's median, both
    sides pooled, in base's seconds; none with fewer than two workers a side (module docstring)."""
    if min(len(base_medians_s), len(head_medians_s)) < 2:
        return ()
    base_center, head_center = statistics.median(base_medians_s), statistics.median(head_medians_s)
    if base_center <= 0 or head_center <= 0:
        return ()
    return tuple(m for m in base_medians_s) + tuple(m / head_center * base_center for m in head_medians_s)


def paired_verdict(
    case_id: str,
    base_s: Sequence[Sequence[float]],
    head_s: Sequence[Sequence[float]],
    regimes: Sequence[Regime],
    least_tolerance: float,
) -> Verdict:
    """Head's rounds against base's, each side given as its workers' rounds, as the gate compares a run with its
    entry: the pooled medians' ratio against the tolerance (time_tolerance_for: the least tolerance, widened by base's
    noise, the spread of the workers' medians within each side and its workload's regimes, less those set for the
    offset between processes where several workers a side measure it), backed by the rank test of both sides'
    rounds."""
    base, head = pooled_side(base_s), pooled_side(head_s)
    medians = tolerance_medians(
        [summarize_rounds(s).median_s for s in base_s], [summarize_rounds(s).median_s for s in head_s]
    )
    applied = within_one_job(regimes) if medians else tuple(regimes)
    comparison = compare_time(head, base, time_tolerance_for(base, applied, least_tolerance, medians))
    return Verdict(case_id, comparison.kind, describe(case_id, comparison), (comparison,))


def skipped_verdict(case_id: str, reasons: Mapping[str, str]) -> Verdict:
    """A case one side or both cannot run: each side's reason, by side name."""
    said = "; ".join(f"{side}: {reason}" for side, reason in reasons.items())
    return Verdict(case_id, VerdictKind.SKIPPED, f"{case_id}: skipped ({said})")


def verdict_line(verdict: Verdict) -> str:
    return f"{verdict.kind.value.upper()} {verdict.reason}"


def exit_code(verdicts: Sequence[Verdict]) -> int:
    """1 when a case regressed, else 0 (a skip or an improvement fails nothing)."""
    return 1 if any(v.kind is VerdictKind.REGRESSION for v in verdicts) else 0


def environment_lines(base: Mapping[str, str], head: Mapping[str, str]) -> list[str]:
    """The fields whose values differ between the workers, one line (none when they agree): reported, not refused,
    since what differs is what a paired run compares (vggt, torch, an attention library)."""
    differences = environment_differences(base, head)
    if not differences:
        return []
    fields = "; ".join(f"{d.field} {d.baseline} -> {d.run}" for d in differences)
    return [f"paired: the environments differ (base -> head, what this run compares): {fields}"]


def difference_records(base: Mapping[str, str], head: Mapping[str, str]) -> list[dict[str, str]]:
    """The same differences for the JSON file."""
    return [_record(d) for d in environment_differences(base, head)]


def _record(difference: FieldDifference) -> dict[str, str]:
    return {"field": difference.field, "base": difference.baseline, "head": difference.run}


def trial_label(slowdown: float) -> str:
    """'trial: head slowed by 3 %': said wherever a sensitivity trial's verdicts appear, '' for a real run."""
    return f"trial: head slowed by {slowdown * 100:g} %" if slowdown else ""
