"""The end-of-session verdict table and the one-line count summary."""

from __future__ import annotations

from perf.core.results import (
    CaseKey,
    CaseResult,
    Memory,
    MetricComparison,
    Outcome,
    Resolution,
    Timing,
    Verdict,
    VerdictKind,
)
from perf.report.verdicts import github_annotations, render_markdown, render_verdict_table, summarize_counts


def compared(
    case_id: str,
    kind: VerdictKind,
    measured_s: float,
    baseline_s: float,
    memory: bool = False,
    detectable: float = 0.05,
) -> Verdict:
    comparisons = [MetricComparison("time", "s", measured_s, baseline_s, 0.05, kind, detectable)]
    if memory:
        comparisons.append(MetricComparison("memory", "GiB", 1.5, 1.25, 0.02, VerdictKind.PASS, 0.02))
    return Verdict(case_id, kind, f"{case_id}: described", tuple(comparisons))


def reasoned(case_id: str, kind: VerdictKind, why: str) -> Verdict:
    return Verdict(case_id, kind, f"{case_id}: {why}")


VERDICTS = [
    compared("b-pass", VerdictKind.PASS, 0.3, 0.3),
    reasoned("a-new", VerdictKind.NEW, "no baseline entry (run with --update-baselines to record one)"),
    compared("z-regressed", VerdictKind.REGRESSION, 0.33, 0.3, memory=True),
    reasoned("c-skipped", VerdictKind.SKIPPED, "sdpa-cudnn runs on cuda only"),
    compared("a-regressed", VerdictKind.REGRESSION, 0.5, 0.3),
    compared("d-improved", VerdictKind.IMPROVED, 0.2, 0.3),
    reasoned("e-missing", VerdictKind.MISSING, "in the baseline but not produced by this run"),
    reasoned("f-oom", VerdictKind.OOM, "CUDA out of memory"),
    compared("a-pass", VerdictKind.PASS, 0.31, 0.3),
]


def case_column(lines: list[str]) -> list[str]:
    return [line.split()[1] for line in lines]


def test_an_empty_session_renders_no_table() -> None:
    assert render_verdict_table([]) == []


def test_table_lists_regressions_first_then_by_severity_and_case() -> None:
    lines = render_verdict_table(VERDICTS)
    assert case_column(lines) == [
        "case",
        "a-regressed",
        "z-regressed",
        "e-missing",
        "f-oom",
        "c-skipped",
        "d-improved",
        "a-new",
        "a-pass",
        "b-pass",
    ]
    assert [line.split()[0] for line in lines[1:3]] == ["REGRESSION", "REGRESSION"]


def test_table_order_does_not_depend_on_input_order() -> None:
    assert render_verdict_table(VERDICTS) == render_verdict_table(list(reversed(VERDICTS)))


def test_table_has_a_header_and_one_line_per_case() -> None:
    lines = render_verdict_table(VERDICTS)
    assert len(lines) == len(VERDICTS) + 1
    assert lines[0].split() == [
        "verdict",
        "case",
        "time",
        "s",
        "baseline",
        "s",
        "ratio",
        "tol",
        "peak",
        "GiB",
        "baseline",
        "GiB",
    ]


def test_a_compared_case_shows_its_numbers() -> None:
    (_, row) = render_verdict_table([compared("case", VerdictKind.REGRESSION, 0.33, 0.3, memory=True)])
    assert row.split() == ["REGRESSION", "case", "0.3300", "0.3000", "x1.100", "+5%", "1.50", "1.25"]


def test_a_case_without_memory_leaves_the_memory_cells_empty() -> None:
    (_, row) = render_verdict_table([compared("case", VerdictKind.PASS, 0.3, 0.3)])
    assert row.split() == ["PASS", "case", "0.3000", "0.3000", "x1.000", "+5%"]
    assert row == row.rstrip()


def test_a_case_without_a_comparison_shows_its_reason_without_the_case_prefix() -> None:
    (_, row) = render_verdict_table([reasoned("case-1", VerdictKind.SKIPPED, "sdpa-cudnn runs on cuda only")])
    assert row.split(maxsplit=2) == ["SKIPPED", "case-1", "sdpa-cudnn runs on cuda only"]
    assert row.count("case-1") == 1


NEW_REASON = "no baseline entry (run with --update-baselines to record one)"
GIB = 1024**3


def measured(case_id: str, median_s: float, peak_gib: float | None = None) -> CaseResult:
    """A measured case's result; the renderer reads only its timing and memory."""
    memory = Memory(int(peak_gib * GIB), int(peak_gib * GIB)) if peak_gib is not None else None
    timing = Timing(median_s, 0.0, median_s, median_s, 5)
    return CaseResult(CaseKey("attention", "sdpa-math", 1, Resolution(28, 28)), Outcome.OK, "fp32", timing, memory)


def test_a_new_case_shows_its_measured_time_and_memory_with_the_baseline_cells_empty() -> None:
    header, new, passed = render_verdict_table(
        [reasoned("new", VerdictKind.NEW, NEW_REASON), compared("old", VerdictKind.PASS, 0.3, 0.3, memory=True)],
        {"new": measured("new", 0.25, peak_gib=1.75)},
    )
    assert new.split() == ["NEW", "new", "0.2500", "1.75"]
    assert new.index("0.2500") == header.index("time s")
    assert new.index("1.75") == header.index("peak GiB") == passed.index("1.50")


def test_a_case_measured_without_memory_shows_its_time_alone() -> None:
    (_, row) = render_verdict_table([reasoned("new", VerdictKind.NEW, NEW_REASON)], {"new": measured("new", 0.25)})
    assert row.split() == ["NEW", "new", "0.2500"]


def test_a_new_case_in_markdown_shows_its_measured_cells_and_its_reason() -> None:
    (row,) = render_markdown(
        [reasoned("new", VerdictKind.NEW, NEW_REASON)], "t", {"new": measured("new", 0.25, peak_gib=1.75)}
    )[6:]
    assert row == f"| NEW | `new` | 0.2500 |  |  |  | 1.75 |  | {NEW_REASON} |"


def test_columns_line_up() -> None:
    lines = render_verdict_table(VERDICTS)
    header, rows = lines[0], lines[1:]
    assert {line.index(line.split()[1]) for line in lines} == {header.index("case")}
    numbered = [
        row for row in rows if row.split()[1] in {"a-regressed", "z-regressed", "d-improved", "a-pass", "b-pass"}
    ]
    assert {row.index(" x") + 1 for row in numbered} == {header.index("ratio")}
    assert all(line == line.rstrip() for line in lines)


def test_detects_is_left_out_where_it_would_repeat_the_tolerance_of_every_case() -> None:
    assert "detects" not in render_verdict_table(VERDICTS)[0]


def test_a_noisy_case_shows_what_each_case_could_detect() -> None:
    noisy = compared("noisy", VerdictKind.PASS, 0.33, 0.3, memory=True, detectable=0.12)
    header, *rows = render_verdict_table([*VERDICTS, noisy])
    assert header.split() == [
        "verdict", "case", "time", "s", "baseline", "s", "ratio", "tol", "detects", "peak", "GiB", "baseline", "GiB",
    ]  # fmt: skip
    by_case = {row.split()[1]: row.split() for row in rows}
    assert by_case["noisy"] == ["PASS", "noisy", "0.3300", "0.3000", "x1.100", "+5%", "+12%", "1.50", "1.25"]
    assert by_case["a-pass"] == ["PASS", "a-pass", "0.3100", "0.3000", "x1.033", "+5%", "+5%"]
    assert by_case["c-skipped"] == ["SKIPPED", "c-skipped", "sdpa-cudnn", "runs", "on", "cuda", "only"]
    assert {row.index("+12%") for row in rows if "+12%" in row} == {header.index("detects")}


def test_the_memory_tolerance_never_shows_the_detects_column() -> None:
    memory_only = Verdict(
        "m",
        VerdictKind.PASS,
        "m: described",
        (
            MetricComparison("time", "s", 0.3, 0.3, 0.05, VerdictKind.PASS, 0.05),
            MetricComparison("memory", "GiB", 1.0, 1.0, 0.02, VerdictKind.PASS, 0.5),
        ),
    )
    assert "detects" not in render_verdict_table([memory_only])[0]


def test_counts_name_each_kind_present() -> None:
    summary = summarize_counts(VERDICTS)
    assert set(summary.split(", ")) == {
        "2 regression",
        "1 missing",
        "1 oom",
        "1 skipped",
        "1 improved",
        "1 new",
        "2 pass",
    }


def test_counts_leave_out_absent_kinds_and_are_deterministic() -> None:
    verdicts = [compared("a", VerdictKind.PASS, 0.3, 0.3), compared("b", VerdictKind.PASS, 0.3, 0.3)]
    assert summarize_counts(verdicts) == "2 pass"
    assert summarize_counts(VERDICTS) == summarize_counts(reversed(VERDICTS))


def test_counts_of_nothing_are_empty() -> None:
    assert summarize_counts([]) == ""


# ---------------------------------------------------------------- markdown and annotations for CI


def test_markdown_has_a_title_the_counts_and_one_row_per_case_regressions_first() -> None:
    lines = render_markdown(VERDICTS, "vggt-perf on H100")
    assert lines[:4] == ["### vggt-perf on H100", "", summarize_counts(VERDICTS), ""]
    header, rule, *rows = lines[4:]
    assert header == "| verdict | case | time s | baseline s | ratio | tol | peak GiB | baseline GiB | reason |"
    assert rule == "|" + "---|" * 9
    assert [row.split(" | ")[1] for row in rows] == [
        f"`{v.case_id}`" for v in sorted(VERDICTS, key=lambda v: (v.kind.rank, v.case_id))
    ]
    assert rows[0] == "| REGRESSION | `a-regressed` | 0.5000 | 0.3000 | x1.667 | +5% |  |  | described |"
    assert all(row.count(" | ") == 8 for row in rows)  # a reason's own "|" cannot add a column


def test_a_reason_with_a_pipe_stays_in_its_cell() -> None:
    (row,) = render_markdown([reasoned("x", VerdictKind.SKIPPED, "a | b")], "t")[6:]
    assert row.endswith("| a \\| b |") and row.count(" | ") == 8  # nine cells, the number cells empty


def test_markdown_of_no_cases_says_so() -> None:
    assert render_markdown([], "t") == ["### t", "", "no cases ran", ""]


def test_annotations_name_each_regressed_or_wrong_case_and_nothing_else() -> None:
    wrong = reasoned("w", VerdictKind.WRONG, "fa4 computes a wrong output: relative error 0.9 (tolerance 0.05)")
    multiline = reasoned("m", VerdictKind.REGRESSION, "time 2 s vs 1 s (x2.000, tolerance +5%)\nsecond line")
    assert github_annotations([*VERDICTS, wrong, multiline]) == [
        "::error title=vggt-perf WRONG w::w: fa4 computes a wrong output: relative error 0.9 (tolerance 0.05)",
        "::error title=vggt-perf REGRESSION a-regressed::a-regressed: described",
        "::error title=vggt-perf REGRESSION m::m: time 2 s vs 1 s (x2.000, tolerance +5%25)%0Asecond line",
        "::error title=vggt-perf REGRESSION z-regressed::z-regressed: described",
    ]
