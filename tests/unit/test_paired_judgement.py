"""The paired verdict: head against base with the gate's statistics, and the run's other words."""

from __future__ import annotations

from perf.core.compare import describe
from perf.core.results import VerdictKind
from perf.core.tolerance import (
    ATTENTION_REGIMES,
    ATTENTION_SUB_SECOND,
    HOST_BOUND,
    SINGLE_PROCESS_TOLERANCE,
    SUB_SECOND,
    VGGT_REGIMES,
    within_one_job,
)
from perf.paired.judgement import (
    difference_records,
    environment_lines,
    exit_code,
    header,
    paired_verdict,
    skipped_verdict,
    tolerance_medians,
    trial_label,
)

CASE = "vggt-aggregator-sdpa-default-20f-350x518"
# Tight GPU-like rounds at 0.3 s: a 0.1 % spread around the median, 20 a side.
TIGHT = tuple(0.300 * (1 + 0.001 * ((i * 7) % 5 - 2)) for i in range(20))
SLOW_CASE = "vggt-aggregator-sdpa-default-100f-350x518"
SECONDS = tuple(s * 10 for s in TIGHT)  # 3 s, beyond every regime: only the least tolerance and the processes count


def scaled(samples: tuple[float, ...], *factors: float) -> list[tuple[float, ...]]:
    """One worker's rounds per factor: the same rounds, each worker offset by its factor."""
    return [tuple(s * factor for s in samples) for factor in factors]


def test_a_head_five_percent_slower_with_tight_rounds_regresses() -> None:
    verdict = paired_verdict(CASE, [TIGHT], [tuple(s * 1.05 for s in TIGHT)], VGGT_REGIMES, 0.03)
    assert verdict.kind is VerdictKind.REGRESSION
    (time,) = verdict.comparisons
    assert time.tolerance == 0.03 and time.p_value is not None and time.p_value < 0.01
    assert abs(time.ratio - 1.05) < 1e-9
    assert exit_code([verdict]) == 1


def test_identical_sides_pass() -> None:
    verdict = paired_verdict(CASE, [TIGHT], [TIGHT], VGGT_REGIMES, 0.03)
    assert verdict.kind is VerdictKind.PASS
    assert exit_code([verdict]) == 0


def test_a_head_two_percent_slower_passes_within_three_percent() -> None:
    verdict = paired_verdict(CASE, [TIGHT], [tuple(s * 1.02 for s in TIGHT)], VGGT_REGIMES, 0.03)
    assert verdict.kind is VerdictKind.PASS


def test_a_faster_head_improves_and_fails_nothing() -> None:
    verdict = paired_verdict(CASE, [TIGHT], [tuple(s * 0.9 for s in TIGHT)], VGGT_REGIMES, 0.03)
    assert verdict.kind is VerdictKind.IMPROVED
    assert exit_code([verdict]) == 0


def test_the_tolerance_is_base_s_under_its_workloads_regimes() -> None:
    short = tuple(s / 1000 for s in TIGHT)  # 0.3 ms attention: its launch-bound regime holds it to +100 %
    verdict = paired_verdict(
        "attention-sdpa-flash-1f-350x518", [short], [tuple(s * 1.5 for s in short)], ATTENTION_REGIMES, 0.03
    )
    assert verdict.kind is VerdictKind.PASS
    assert verdict.comparisons[0].tolerance == 1.0


def test_the_verdict_line_is_the_gates_with_head_as_measured_and_base_as_baseline() -> None:
    verdict = paired_verdict(CASE, [TIGHT], [tuple(s * 1.05 for s in TIGHT)], VGGT_REGIMES, 0.03)
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


def test_one_worker_a_side_is_held_to_the_single_process_tolerance() -> None:
    verdict = paired_verdict(SLOW_CASE, [SECONDS], [SECONDS], VGGT_REGIMES, 0.02)
    assert verdict.comparisons[0].tolerance == SINGLE_PROCESS_TOLERANCE
    assert tolerance_medians([3.0], [3.1]) == ()


def test_workers_that_agree_reach_the_least_tolerance_and_a_real_difference_does_not_widen_it() -> None:
    base, head = scaled(SECONDS, 1, 1, 1), scaled(SECONDS, 1.05, 1.05, 1.05)
    verdict = paired_verdict(SLOW_CASE, base, head, VGGT_REGIMES, 0.02)
    (time,) = verdict.comparisons
    assert time.tolerance == 0.02 and abs(time.ratio - 1.05) < 1e-9
    assert verdict.kind is VerdictKind.REGRESSION


def test_each_side_is_the_median_of_its_workers_medians() -> None:
    base = scaled(SECONDS, 1.0, 1.0, 1.0)
    head = [SECONDS * 3, tuple(s * 1.04 for s in SECONDS), tuple(s * 1.10 for s in SECONDS)]  # 60, 20, 20 rounds
    (time,) = paired_verdict(SLOW_CASE, base, head, VGGT_REGIMES, 0.02).comparisons
    assert abs(time.ratio - 1.04) < 1e-9  # all 100 rounds pooled would give x1.000: each process counts once


def test_the_spread_of_workers_within_either_side_widens_the_tolerance() -> None:
    spread = (0.97, 1.0, 1.03)  # one side's workers 3 % apart, the other's agreeing: held to 4 %
    assert tolerance_medians([0.98, 1.0, 1.02], [1.96, 2.0, 2.04]) == (0.98, 1.0, 1.02, 0.98, 1.0, 1.02)
    steady, offset = scaled(SECONDS, 1, 1, 1), scaled(SECONDS, *spread)
    head_steady, head_offset = scaled(SECONDS, 1.035, 1.035, 1.035), scaled(SECONDS, *(f * 1.035 for f in spread))
    caught = paired_verdict(SLOW_CASE, steady, head_steady, VGGT_REGIMES, 0.02)
    assert caught.kind is VerdictKind.REGRESSION and caught.comparisons[0].tolerance == 0.02
    for base, head in ((offset, head_steady), (steady, head_offset)):  # base's spread, or head's alone
        verdict = paired_verdict(SLOW_CASE, base, head, VGGT_REGIMES, 0.02)
        assert verdict.comparisons[0].tolerance > 0.035 and verdict.kind is VerdictKind.PASS


def test_the_header_says_how_many_workers_a_side() -> None:
    assert header(3).endswith("(3 workers per side)") and header(1).endswith("(1 worker per side)")
    assert header(2, "trial: head slowed by 3 %").endswith("(2 workers per side); trial: head slowed by 3 %")


def test_several_workers_a_side_drop_the_sub_second_floor_and_catch_what_it_let_pass() -> None:
    # 0.3 s is below SUB_SECOND's second: a stored baseline holds it to +3 %, which let a real 3 % pass on the H200.
    slower = [tuple(s * 1.025 for s in TIGHT)] * 3
    caught = paired_verdict(CASE, [TIGHT] * 3, slower, VGGT_REGIMES, 0.02)
    assert caught.comparisons[0].tolerance == 0.02 and caught.kind is VerdictKind.REGRESSION
    alone = paired_verdict(CASE, [TIGHT], [slower[0]], VGGT_REGIMES, 0.02)  # one worker a side: every regime
    assert alone.comparisons[0].tolerance == SUB_SECOND.tolerance and alone.kind is VerdictKind.PASS


def test_several_workers_a_side_keep_the_host_bound_floor() -> None:
    host = tuple(s * 0.2 / 0.3 for s in TIGHT)  # 0.2 s: host-bound (+30 %) whatever the workers measure
    verdict = paired_verdict(CASE, [host] * 3, [tuple(s * 1.2 for s in host)] * 3, VGGT_REGIMES, 0.02)
    assert verdict.comparisons[0].tolerance == HOST_BOUND.tolerance and verdict.kind is VerdictKind.PASS


def test_attention_below_a_second_with_several_workers_is_held_to_the_least_tolerance() -> None:
    tenth = tuple(s / 3 for s in TIGHT)  # 0.1 s: attention at 100 frames, above its short-kernel regime
    verdict = paired_verdict(
        "attention-sdpa-flash-100f-350x518", [tenth] * 2, [tuple(s * 1.025 for s in tenth)] * 2, ATTENTION_REGIMES, 0.02
    )
    assert verdict.comparisons[0].tolerance == 0.02 and verdict.kind is VerdictKind.REGRESSION


def test_within_one_job_drops_only_the_floors_set_between_processes() -> None:
    assert SUB_SECOND not in within_one_job(VGGT_REGIMES)
    assert ATTENTION_SUB_SECOND not in within_one_job(ATTENTION_REGIMES)
    assert within_one_job(VGGT_REGIMES) == tuple(r for r in VGGT_REGIMES if r is not SUB_SECOND)
    assert within_one_job(ATTENTION_REGIMES) == tuple(r for r in ATTENTION_REGIMES if r is not ATTENTION_SUB_SECOND)
