"""The benchmarks shipped in the package (perf.benchmarks) run from another repository, against the vggt installed
there: `pytest --pyargs perf.benchmarks --benchmark-only`, baselines kept in that repository or named by a flag."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import test_plugin as runs
import torch

import perf
from perf.hardware.fingerprint import describe_device

pytest_plugins = ["pytester"]
suite = runs.suite
REPOSITORY = Path(__file__).resolve().parents[2]


def run_packaged(elsewhere: pytest.Pytester, *args: str) -> pytest.RunResult:
    return elsewhere.runpytest_inprocess(
        "-p", "no:hypothesispytest", "--pyargs", "perf.benchmarks", "--benchmark-only", *runs.CASES,
        "--backends", "sdpa-math", *args,
    )  # fmt: skip


def test_another_repository_runs_the_packaged_benchmarks_into_its_own_baselines(suite: pytest.Pytester) -> None:
    (suite.path / "test_suite_copy.py").unlink()  # nothing of this repository's: only the installed package
    assert not suite.path.is_relative_to(REPOSITORY)
    assert Path(perf.__file__).parent.joinpath("benchmarks", "test_inference.py").is_file()

    first = run_packaged(suite, "--update-baselines")
    assert first.ret == pytest.ExitCode.OK, first.outlines
    first.assert_outcomes(passed=1)
    own = suite.path / "baselines" / f"{describe_device(torch.device('cpu'))['slug']}.json"
    assert f"vggt-perf: wrote 1 entries to {own}" in first.outlines  # <rootdir>/baselines: the other repository's
    assert runs.verdicts(first)[runs.MATH][0] == "NEW"

    named = suite.path / "elsewhere" / "h.json"
    named.parent.mkdir()
    shutil.move(own, named)
    second = run_packaged(suite, "--baseline-file", str(named))
    assert second.ret == pytest.ExitCode.OK
    assert runs.verdicts(second)[runs.MATH][0] == "PASS"
    assert runs.summary(second, named) == f"vggt-perf: 1 pass ({named})"
    assert not own.exists()
