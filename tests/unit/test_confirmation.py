"""Confirmation before failing (perf.core.confirmation): both runs together decide, and the line says how."""

from __future__ import annotations

from dataclasses import replace

from perf.core.baselines import BaselineEntry
from perf.core.compare import judge
from perf.core.confirmation import confirm, standing_failures, time_regressed_only, to_confirm
from perf.core.results import CaseKey, CaseResult, Memory, Outcome, Resolution, Timing, VerdictKind

KEY = CaseKey("vggt-aggregator", "sdpa-default", 20, Resolution(350, 518))
GIB = 1024**3


def rounds(median: float, n: int = 12) -> Timing:
    """Tight rounds around median (+-0.1 %), enough for the rank test to speak."""
    samples = tuple(median * (1 + 0.001 * ((i % 5) - 2) / 2) for i in range(n))
    ordered = sorted(samples)
    return Timing(median, ordered[-3] - ordered[2], ordered[0], ordered[-1], n, samples)


ENTRY = BaselineEntry(KEY, "bf16", rounds(0.285), Memory(6 * GIB, 7 * GIB), 0.03, 0.02, "r1")


def result(median: float, peak: int = 6 * GIB) -> CaseResult:
    return CaseResult(KEY, Outcome.OK, "bf16", rounds(median), Memory(peak, 7 * GIB))


def test_a_slowdown_seen_again_on_re_run_is_confirmed_with_both_ratios() -> None:
    verdict = confirm(result(0.285 * 1.05), result(0.285 * 1.045), ENTRY)
    assert verdict.kind is VerdictKind.REGRESSION
    assert "confirmed on re-run: x1.050 then x1.045" in verdict.reason
    assert verdict.reason.startswith(f"{KEY.case_id}: time ")


def test_a_first_run_the_re_run_does_not_repeat_is_not_confirmed_and_passes() -> None:
    verdict = confirm(result(0.285 * 1.035), result(0.285 * 1.01), ENTRY)
    assert verdict.kind is VerdictKind.PASS
    assert verdict.reason == (
        f"{KEY.case_id}: not confirmed: x1.010 on re-run (first run x1.035; together x1.022, tolerance +3%)"
    )


def test_the_two_runs_are_judged_by_their_geometric_mean_not_by_both_beyond_tolerance() -> None:
    # x1.05 then x1.025: the second alone is within +3 %, together (x1.037) they are beyond it.
    assert confirm(result(0.285 * 1.05), result(0.285 * 1.025), ENTRY).kind is VerdictKind.REGRESSION


def test_a_memory_regression_on_re_run_fails_even_where_time_is_not_confirmed() -> None:
    verdict = confirm(result(0.285 * 1.04), result(0.285, peak=7 * GIB), ENTRY)
    assert verdict.kind is VerdictKind.REGRESSION
    assert "not confirmed" in verdict.reason and "memory 7.00 GiB vs baseline 6.00 GiB" in verdict.reason


def test_only_a_time_regression_is_re_measured_and_the_others_stand() -> None:
    slow = judge(result(0.285 * 1.1), ENTRY)
    heavy = judge(result(0.285, peak=7 * GIB), ENTRY)
    both = judge(result(0.285 * 1.1, peak=7 * GIB), ENTRY)
    wrong = judge(CaseResult(KEY, Outcome.WRONG, reason="wrong output"), ENTRY)
    fine = judge(result(0.285), ENTRY)
    assert [time_regressed_only(v) for v in (slow, heavy, both, wrong, fine)] == [True, False, False, False, False]
    assert to_confirm({"slow": slow, "fine": fine, "heavy": heavy}) == ["slow"]
    standing = standing_failures([slow, heavy, wrong, fine])
    assert [v.kind for v in standing] == [VerdictKind.REGRESSION, VerdictKind.WRONG]
    assert all(v.reason.endswith("(first run; not re-measured: a re-run cannot change it)") for v in standing)


def test_a_re_run_that_failed_to_measure_speaks_for_itself() -> None:
    oom = CaseResult(KEY, Outcome.OOM, reason="CUDA out of memory")
    assert confirm(result(0.3), oom, ENTRY).kind is VerdictKind.OOM
    assert confirm(result(0.3), replace(oom, outcome=Outcome.WRONG), ENTRY).kind is VerdictKind.WRONG
