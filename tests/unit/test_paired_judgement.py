"""The paired verdict: head against base with the gate's statistics, and the run's other words."""

from __future__ import annotations

from perf.core.compare import describe
from perf.core.results import VerdictKind
from perf.core.tolerance import ATTENTION_REGIMES, VGGT_REGIMES
from perf.paired.judgement import (
    difference_records,
    environment_lines,
    exit_code,
    paired_verdict,
    skipped_verdict,
    trial_label,
)

CASE = "vggt-aggregator-sdpa-default-20f-350x518"
# Tight GPU-like rounds at 0.3 s: a 0.1 % spread around the median, 20 a side.
TIGHT = tuple(0.300 * (1 + 0.001 * ((i * 7) % 5 - 2)) for i in range(20))


def test_a_head_five_percent_slower_with_tight_rounds_regresses() -> None:
    verdict = paired_verdict(CASE, TIGHT, tuple(s * 1.05 for s in TIGHT), VGGT_REGIMES, 0.03)
    assert verdict.kind is VerdictKind.REGRESSION
    (time,) = verdict.comparisons
    assert time.tolerance == 0.03 and time.p_value is not None and time.p_value < 0.01
    assert abs(time.ratio - 1.05) < 1e-9
    assert exit_code([verdict]) == 1


def test_identical_sides_pass() -> None:
    verdict = paired_verdict(CASE, TIGHT, TIGHT, VGGT_REGIMES, 0.03)
    assert verdict.kind is VerdictKind.PASS
    assert exit_code([verdict]) == 0


def test_a_head_two_percent_slower_passes_within_three_percent() -> None:
    verdict = paired_verdict(CASE, TIGHT, tuple(s * 1.02 for s in TIGHT), VGGT_REGIMES, 0.03)
    assert verdict.kind is VerdictKind.PASS


def test_a_faster_head_improves_and_fails_nothing() -> None:
    verdict = paired_verdict(CASE, TIGHT, tuple(s * 0.9 for s in TIGHT), VGGT_REGIMES, 0.03)
    assert verdict.kind is VerdictKind.IMPROVED
    assert exit_code([verdict]) == 0


def test_the_tolerance_is_base_s_under_its_workloads_regimes() -> None:
    short = tuple(s / 1000 for s in TIGHT)  # 0.3 ms attention: its launch-bound regime holds it to +100 %
    verdict = paired_verdict(
        "attention-sdpa-flash-1f-350x518", short, tuple(s * 1.5 for s in short), ATTENTION_REGIMES, 0.03
    )
    assert verdict.kind is VerdictKind.PASS
    assert verdict.comparisons[0].tolerance == 1.0


def test_the_verdict_line_is_the_gates_with_head_as_measured_and_base_as_baseline() -> None:
    verdict = paired_verdict(CASE, TIGHT, tuple(s * 1.05 for s in TIGHT), VGGT_REGIMES, 0.03)
    assert verdict.reason == describe(CASE, *verdict.comparisons)
    assert verdict.reason.startswith(f"{CASE}: time 0.3150 s vs baseline 0.3000 s (x1.050, tolerance +3%")


def test_a_case_either_side_skips_is_skipped_with_each_reason() -> None:
    verdict = skipped_verdict(CASE, {"head": "vggt is not importable"})
    assert verdict.kind is VerdictKind.SKIPPED
    assert verdict.reason == f"{CASE}: skipped (head: vggt is not importable)"
    assert exit_code([verdict]) == 0


def test_differing_environments_are_named_field_by_field_and_equal_ones_say_nothing() -> None:
    base = {"torch": "2.11.0", "vggt": "aaaaaaa1 /src/base", "python": "3.11"}
    head = {"torch": "2.12.0", "vggt": "bbbbbbb2 /src/head", "python": "3.11"}
    (line,) = environment_lines(base, head)
    assert "torch 2.11.0 -> 2.12.0" in line and "vggt aaaaaaa1 /src/base -> bbbbbbb2 /src/head" in line
    assert "python" not in line
    assert difference_records(base, head)[0] == {"field": "torch", "base": "2.11.0", "head": "2.12.0"}
    assert environment_lines(base, base) == []


def test_a_trial_is_labelled_and_a_real_run_is_not() -> None:
    assert trial_label(0.03) == "trial: head slowed by 3 %"
    assert trial_label(0.0) == ""
