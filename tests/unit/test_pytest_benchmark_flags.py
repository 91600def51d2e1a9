"""pytest-benchmark's own options in a session of the suite's cases: each one either works or is refused in one line
naming what replaces it; a histogram without pygal is a one-line hint; the table speaks seconds."""

from __future__ import annotations

import json
import re

import pytest
import test_plugin as runs

import perf.pytest_plugin.benchmark_flags
from perf.pytest_plugin.benchmark_flags import REPLACED_FLAGS, refuse_replaced_flags

pytest_plugins = ["pytester"]
suite = runs.suite

# The storage, display and selection options, which keep working as pytest-benchmark documents them.
KEPT = {
    "--benchmark-skip",  # the cases skip and the baseline is not read (test below)
    "--benchmark-disable",  # each case runs once, checked, untimed: skipped with that reason (test below)
    "--benchmark-enable",
    "--benchmark-only",  # the unit tests are not collected (tests/unit/conftest.py), other tests deselected
    "--benchmark-save",
    "--benchmark-autosave",
    "--benchmark-save-data",
    "--benchmark-json",  # carries the suite's fingerprint (test_plugin.py)
    "--benchmark-compare",  # a saved run's numbers beside this run's, in pytest-benchmark's table
    "--benchmark-storage",
    "--benchmark-netrc",
    "--benchmark-verbose",
    "--benchmark-quiet",
    "--benchmark-sort",
    "--benchmark-group-by",  # the suite sets each case's group: "<workload> <frames>f <HxW>", backends side by side
    "--benchmark-columns",
    "--benchmark-name",
    "--benchmark-time-unit",  # unset, the suite makes it s (test below)
    "--benchmark-histogram",  # works with pygal installed; without, a one-line hint (test below)
}
# A value other than the default for each refused option.
SET = {
    "--benchmark-min-time": ["--benchmark-min-time", "0.1"],
    "--benchmark-max-time": ["--benchmark-max-time", "2"],
    "--benchmark-min-rounds": ["--benchmark-min-rounds", "7"],
    "--benchmark-precision": ["--benchmark-precision", "0.02"],
    "--benchmark-confidence": ["--benchmark-confidence", "0.9"],
    "--benchmark-calibration-precision": ["--benchmark-calibration-precision", "3"],
    "--benchmark-warmup": ["--benchmark-warmup"],
    "--benchmark-warmup-iterations": ["--benchmark-warmup-iterations", "7"],
    "--benchmark-timer": ["--benchmark-timer", "time.process_time"],
    "--benchmark-disable-gc": ["--benchmark-disable-gc"],
    "--benchmark-cprofile": ["--benchmark-cprofile", "cumtime"],
    "--benchmark-cprofile-loops": ["--benchmark-cprofile-loops", "2"],
    "--benchmark-cprofile-top": ["--benchmark-cprofile-top", "3"],
    "--benchmark-cprofile-dump": ["--benchmark-cprofile-dump"],
    "--benchmark-compare-fail": ["--benchmark-compare-fail", "min:5%"],
}
REFUSED = [replaced.flag for replaced in REPLACED_FLAGS]


def errors(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines + result.errlines if line.startswith("ERROR")]


def test_every_pytest_benchmark_option_is_kept_or_refused(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["perf.pytest_plugin.plugin"]')
    helped = set(
        re.findall(r"^  (--benchmark-[a-z-]+)", "\n".join(pytester.runpytest_inprocess("--help").outlines), re.M)
    )
    assert helped == KEPT | set(REFUSED)
    assert not KEPT & set(REFUSED)
    assert set(SET) == set(REFUSED)


def test_no_option_is_refused_where_the_user_set_none(pytester: pytest.Pytester) -> None:
    # The defaults the table compares with are pytest-benchmark's own: a plain command line sets nothing.
    pytester.makeconftest('pytest_plugins = ["perf.pytest_plugin.plugin"]')
    refuse_replaced_flags(pytester.parseconfig())


@pytest.mark.parametrize("flag", REFUSED)
def test_a_round_option_of_pytest_benchmark_stops_the_session_with_one_line(suite: pytest.Pytester, flag: str) -> None:
    path = suite.path / "cpu.json"
    result = runs.run(suite, path, *runs.BOTH, *SET[flag])
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    (replaced,) = [r for r in REPLACED_FLAGS if r.flag == flag]
    assert errors(result) == [f"ERROR: {replaced.message()}"]
    assert replaced.message().startswith(f"vggt-perf: {flag} ")
    runs.no_traceback(result)
    result.assert_outcomes()  # no case ran


def test_the_round_options_replaced_by_suite_options_name_them() -> None:
    named = {r.flag: r.message() for r in REPLACED_FLAGS}
    assert named["--benchmark-max-time"] == (
        "vggt-perf: --benchmark-max-time has no effect here: the suite times its own rounds; use --max-time"
    )
    assert named["--benchmark-min-rounds"].endswith("; use --min-rounds")
    assert named["--benchmark-precision"].endswith("; use --precision")
    assert named["--benchmark-warmup"].endswith("; use --warmup-time")


def test_a_session_without_the_suites_cases_keeps_every_option(pytester: pytest.Pytester) -> None:
    # The plugin loads in every session of an environment that installed it: another project's benchmarks keep
    # pytest-benchmark's round options (the run's own timing is not asserted on).
    pytester.makeconftest('pytest_plugins = ["perf.pytest_plugin.plugin"]')
    pytester.makepyfile(test_other="def test_other(benchmark):\n    benchmark(lambda: None)\n")
    result = pytester.runpytest_inprocess(
        "-p", "no:hypothesispytest", "--benchmark-max-time", "0.001", "--benchmark-min-rounds", "1"
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1)


def test_benchmark_skip_skips_every_case_without_reading_the_baseline(suite: pytest.Pytester) -> None:
    path = suite.path / "cpu.json"
    path.write_text("{ not json")  # never read: no case runs
    result = runs.run(suite, path, *runs.BOTH, "--benchmark-skip")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(skipped=2)
    assert errors(result) == []
    assert not [line for line in result.outlines if "vggt-perf verdicts" in line]


def test_benchmark_disable_runs_each_case_once_untimed_and_says_so(suite: pytest.Pytester) -> None:
    path = suite.path / "cpu.json"
    result = runs.run(suite, path, *runs.BOTH, "--benchmark-disable")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(skipped=2)
    assert runs.verdicts(result) == {
        runs.MATH: ("SKIPPED", "benchmarking is disabled (--benchmark-disable)"),
        runs.DEFAULT: ("SKIPPED", "benchmarking is disabled (--benchmark-disable)"),
    }
    assert not path.exists()


def test_benchmark_disable_with_update_baselines_is_one_line(suite: pytest.Pytester) -> None:
    path = suite.path / "cpu.json"
    result = runs.run(suite, path, *runs.BOTH, "--benchmark-disable", "--update-baselines")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert errors(result) == ["ERROR: vggt-perf: --benchmark-disable times no rounds: it cannot write baselines"]
    assert not path.exists()


def test_the_table_is_in_seconds_unless_the_user_chose_and_the_json_records_the_suites_rounds(
    suite: pytest.Pytester,
) -> None:
    path = suite.path / "cpu.json"
    report = suite.path / "bench.json"
    default = runs.run(suite, path, "--backends", "sdpa-math", "--benchmark-json", str(report))
    assert default.ret == pytest.ExitCode.OK
    assert [line for line in default.outlines if line.startswith("Name (time in s) ")], default.outlines
    (benchmark,) = json.loads(report.read_text())["benchmarks"]
    assert benchmark["options"] == {  # the rounds as the suite ran them (test_plugin.CASES), not pytest-benchmark's
        "timer": "time.perf_counter",
        "disable_gc": False,
        "warmup_time": 0.0,
        "max_time": 0.02,
        "min_rounds": 3,
        "max_rounds": 100,
        "precision": 0.01,
    }
    chosen = runs.run(suite, path, "--backends", "sdpa-math", "--benchmark-time-unit", "us")
    assert [line for line in chosen.outlines if line.startswith("Name (time in us) ")], chosen.outlines


def test_a_histogram_without_pygal_is_a_one_line_hint(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(perf.pytest_plugin.benchmark_flags, "pygal_installed", lambda: False)
    result = runs.run(suite, suite.path / "cpu.json", *runs.BOTH, "--benchmark-histogram")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert errors(result) == [
        "ERROR: vggt-perf: --benchmark-histogram draws with pygal, which is not installed: pip install pygal"
    ]
    runs.no_traceback(result)
