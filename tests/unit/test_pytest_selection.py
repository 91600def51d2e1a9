"""pytest's own ways of choosing what runs: --lf reruns the failed cases only, and what it or -k/-m deselect is
never MISSING; pytest-xdist is refused in one line where the suite's cases would be distributed."""

from __future__ import annotations

import pytest
import test_plugin as runs

pytest_plugins = ["pytester"]
suite = runs.suite


def test_last_failed_reruns_only_the_regressed_case_and_the_others_are_not_missing(suite: pytest.Pytester) -> None:
    path = suite.path / "cpu.json"
    runs.synthetic_baseline(path, {runs.MATH: 1e-9, runs.DEFAULT: 1.0})  # math regresses, default improves
    first = runs.run(suite, path, *runs.BOTH)
    assert first.ret == pytest.ExitCode.TESTS_FAILED
    first.assert_outcomes(passed=1, failed=1)

    again = runs.run(suite, path, *runs.BOTH, "--lf")
    assert again.ret == pytest.ExitCode.TESTS_FAILED
    again.assert_outcomes(failed=1)  # the passed case is not collected again
    assert any(line.startswith("run-last-failure: rerun previous 1 failure") for line in again.outlines)
    assert {case: kind for case, (kind, _) in runs.verdicts(again).items()} == {runs.MATH: "REGRESSION"}
    assert runs.summary(again, path) == f"vggt-perf: 1 regression ({path})"


def errors(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines + result.errlines if line.startswith("ERROR")]


def test_xdist_is_refused_in_one_line_where_it_would_distribute_the_cases(suite: pytest.Pytester) -> None:
    path = suite.path / "cpu.json"
    result = runs.run(suite, path, *runs.BOTH, "-n", "1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    (error,) = errors(result)
    assert error.startswith("ERROR: vggt-perf: the suite's cases cannot run under pytest-xdist (-n, --dist): ")
    assert "run one session per GPU (CUDA_VISIBLE_DEVICES=0 pytest --benchmark-only" in error
    runs.no_traceback(result)
    result.assert_outcomes()  # no case ran
    assert not path.exists()


def test_xdist_still_distributes_tests_that_are_not_the_suites(suite: pytest.Pytester) -> None:
    (suite.path / "test_suite_copy.py").unlink()
    suite.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = suite.runpytest_inprocess("-p", "no:hypothesispytest", "-n", "1")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1)


def test_this_repositorys_addopts_keep_the_cache_provider_that_last_failed_needs(pytestconfig: pytest.Config) -> None:
    # They once passed -p no:cacheprovider, and --lf, --ff were silently ignored.
    assert "no:cacheprovider" not in pytestconfig.getini("addopts")
