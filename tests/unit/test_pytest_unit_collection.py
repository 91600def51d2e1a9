"""`pytest --benchmark-only` on a plain install: tests/unit/conftest.py keeps the unit tests, which import the test
extras (hypothesis...), out of the collection, so a missing extra is no collection error."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

UNIT_CONFTEST = (Path(__file__).parent / "conftest.py").read_text(encoding="utf-8")


@pytest.fixture
def layout(pytester: pytest.Pytester) -> pytest.Pytester:
    """This repository's layout: a unit test that needs an extra that is not installed, and a benchmark."""
    pytester.mkdir("tests")
    unit = pytester.mkdir("tests/unit")
    (unit / "conftest.py").write_text(UNIT_CONFTEST)
    (unit / "test_needs_extra.py").write_text("import not_an_installed_extra\n\n\ndef test_unit():\n    pass\n")
    benchmarks = pytester.mkdir("tests/benchmarks")
    (benchmarks / "test_timed.py").write_text("def test_timed(benchmark):\n    assert benchmark is not None\n")
    return pytester


def test_benchmark_only_never_collects_the_unit_tests(layout: pytest.Pytester) -> None:
    result = layout.runpytest_inprocess("-p", "no:hypothesispytest", "--benchmark-only", "tests")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1)
    assert "not_an_installed_extra" not in "\n".join(result.outlines)


def test_a_plain_run_collects_the_unit_tests(layout: pytest.Pytester) -> None:
    result = layout.runpytest_inprocess("-p", "no:hypothesispytest", "tests")
    assert result.ret == pytest.ExitCode.INTERRUPTED  # the collection error stops the session
    result.assert_outcomes(errors=1)
    assert "ModuleNotFoundError: No module named 'not_an_installed_extra'" in "\n".join(result.outlines)
