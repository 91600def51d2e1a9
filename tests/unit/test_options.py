"""Every suite option parsed by a real pytest config into SuiteOptions, and every bad value a usage error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from perf.core.results import Resolution
from perf.core.tolerance import DEFAULT_MEMORY_TOLERANCE, DEFAULT_TIME_TOLERANCE
from perf.measure.timing import RoundPolicy
from perf.pytest_plugin.options import SuiteOptions, read_options

pytest_plugins = ["pytester"]


@pytest.fixture
def parse(pytester: pytest.Pytester):
    """Command-line args -> a real pytest.Config with the suite's plugin loaded (not configured: no device probe)."""
    pytester.makeconftest('pytest_plugins = ["perf.pytest_plugin.plugin"]')
    return pytester.parseconfig


def test_defaults(parse) -> None:
    assert read_options(parse()) == SuiteOptions(
        profile=None,
        workloads=None,
        backends=None,
        frames=None,
        resolutions=None,
        vggt_weights=None,
        vggt_revision="",
        baseline_file=None,
        update_baselines=False,
        require_baseline=False,
        strict_env=False,
        time_tolerance=DEFAULT_TIME_TOLERANCE,
        memory_tolerance=DEFAULT_MEMORY_TOLERANCE,
        rounds=RoundPolicy(),
        substitute_backend=None,
        benchmark_only=False,
        benchmark_skip=False,
    )


def test_every_option_is_read(parse, tmp_path: Path) -> None:
    config = parse(
        "--profile", "quick",
        "--workloads", "attention, vggt-model",
        "--backends", "sdpa-flash,sdpa-math",
        "--frames", "1,20,200",
        "--resolution", "350x518, 518x518",
        "--vggt-weights", str(tmp_path / "model.safetensors"),
        "--vggt-revision", "abc123",
        "--baseline-file", str(tmp_path / "h100.json"),
        "--require-baseline",
        "--strict-env",
        "--time-tolerance", "0.1",
        "--memory-tolerance", "0",
        "--max-time", "3.5",
        "--min-rounds", "7",
        "--warmup-time", "0.25",
        "--substitute-backend", "sdpa-flash=sdpa-math",
        "--benchmark-only",
    )  # fmt: skip
    assert read_options(config) == SuiteOptions(
        profile="quick",
        workloads=("attention", "vggt-model"),
        backends=("sdpa-flash", "sdpa-math"),
        frames=(1, 20, 200),
        resolutions=(Resolution(350, 518), Resolution(518, 518)),
        vggt_weights=tmp_path / "model.safetensors",
        vggt_revision="abc123",
        baseline_file=tmp_path / "h100.json",
        update_baselines=False,
        require_baseline=True,
        strict_env=True,
        time_tolerance=0.1,
        memory_tolerance=0.0,
        rounds=RoundPolicy(warmup_s=0.25, max_time_s=3.5, min_rounds=7),
        substitute_backend=("sdpa-flash", "sdpa-math"),
        benchmark_only=True,
        benchmark_skip=False,
    )


def test_update_baselines_is_read(parse) -> None:
    options = read_options(parse("--update-baselines"))
    assert options.update_baselines is True
    assert options.substitute_backend is None


def test_strict_env_may_update_baselines(parse) -> None:
    # An update records a run in its own environment: a differing one is reported, never refused.
    options = read_options(parse("--strict-env", "--update-baselines"))
    assert (options.strict_env, options.update_baselines) == (True, True)


def test_every_suite_option_help_states_its_default(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["perf.pytest_plugin.plugin"]')
    lines = pytester.runpytest_inprocess("--help").outlines
    section = lines[lines.index("VGGT inference benchmarks:") + 1 :]
    section = section[: next(i for i, line in enumerate(section) if not line.startswith("  "))]
    helps: dict[str, str] = {}
    for line in section:  # an option starts at two spaces' indent; its help goes on, further in
        if re.match(r"^  --", line):
            option = line.split()[0].split("=")[0]
            helps[option] = " ".join(line.split()[1:])
        else:
            helps[option] += " " + line.strip()
    assert {"--profile", "--strict-env", "--substitute-backend"} <= helps.keys()
    assert [option for option, text in helps.items() if "Default: " not in text] == []


BAD_VALUES = [
    (["--frames", "0"], "argument --frames: 0 is not a positive integer"),
    (["--frames", "x"], "argument --frames: x is not a positive integer"),
    (["--frames", "2,-1"], "argument --frames: -1 is not a positive integer"),
    (["--frames", " , "], "argument --frames: expected a comma-separated list"),
    (["--min-rounds", "0"], "argument --min-rounds: 0 is not a positive integer"),
    (["--min-rounds", "many"], "argument --min-rounds: many is not a positive integer"),
    (["--resolution", "350x"], "argument --resolution: resolution '350x' is not HxW, e.g. 350x518"),
    (["--resolution", "0x518"], "argument --resolution: resolution '0x518' must be positive"),
    (["--workloads", "attention,video"], "argument --workloads: unknown video; choose from vggt-aggregator"),
    (["--backends", "sdpa-math,flash3"], "argument --backends: unknown flash3; choose from sdpa-default"),
    (["--profile", "huge"], "argument --profile: invalid choice: 'huge'"),
    (["--time-tolerance", "10"], "argument --time-tolerance: 10 is not a fraction such as 0.05"),
    (["--time-tolerance", "-0.5"], "argument --time-tolerance: -0.5 is not a fraction such as 0.05"),
    (["--time-tolerance", "nan"], "argument --time-tolerance: nan is not a fraction such as 0.05"),
    (["--memory-tolerance", "2%"], "argument --memory-tolerance: 2% is not a fraction such as 0.05"),
    (["--substitute-backend", "sdpa-flash"], "argument --substitute-backend: expected CASE_BACKEND=MEASURED"),
    (["--substitute-backend", "sdpa-flash=flash3"], "argument --substitute-backend: expected CASE_BACKEND="),
    (["--substitute-backend", "=sdpa-math"], "argument --substitute-backend: expected CASE_BACKEND="),
    (["--max-time", "long"], "argument --max-time: long is not a number of seconds such as 0.5"),
    (["--max-time", "nan"], "argument --max-time: nan is not a number of seconds such as 0.5"),
    (["--max-time", "inf"], "argument --max-time: inf is not a number of seconds such as 0.5"),
    (["--warmup-time", "-1"], "argument --warmup-time: -1 is not a number of seconds such as 0.5"),
]


@pytest.mark.parametrize(("args", "message"), BAD_VALUES, ids=[" ".join(args) for args, _ in BAD_VALUES])
def test_a_bad_value_is_a_usage_error_naming_the_option(parse, args: list[str], message: str) -> None:
    with pytest.raises(pytest.UsageError) as raised:
        parse(*args)
    error = str(raised.value)
    assert message in error
    assert "Traceback" not in error
    assert "_positive_int" not in error
    assert "_fraction" not in error


def test_the_substitution_message_lists_the_backends(parse) -> None:
    with pytest.raises(pytest.UsageError, match="from sdpa-default, sdpa-math, sdpa-efficient, sdpa-flash, sdpa-cudnn"):
        parse("--substitute-backend", "sdpa-flash:sdpa-math")


def test_substitute_backend_with_update_baselines_is_refused(parse) -> None:
    config = parse("--update-baselines", "--substitute-backend", "sdpa-flash=sdpa-math")
    with pytest.raises(pytest.UsageError, match=r"^--substitute-backend measures another kernel: it cannot write"):
        read_options(config)


def test_benchmark_skip_is_read_and_benchmark_only_overrides_it(parse) -> None:
    # As pytest-benchmark has it: --benchmark-only wins over --benchmark-skip.
    assert read_options(parse("--benchmark-skip")).benchmark_skip is True
    assert read_options(parse("--benchmark-skip", "--benchmark-only")).benchmark_skip is False


def test_precision_and_github_summary_are_read(parse, tmp_path: Path) -> None:
    options = read_options(parse("--precision", "0.02", "--github-summary", str(tmp_path / "summary.md")))
    assert options.rounds == RoundPolicy(precision=0.02)
    assert options.github_summary == tmp_path / "summary.md"


@pytest.mark.parametrize("enable", [False, True], ids=["disabled", "enabled-again"])
def test_benchmark_disable_cannot_update_baselines(parse, enable: bool) -> None:
    config = parse("--update-baselines", "--benchmark-disable", *(["--benchmark-enable"] if enable else []))
    if enable:  # --benchmark-enable overrides --benchmark-disable: rounds are timed
        assert read_options(config).update_baselines is True
        return
    with pytest.raises(pytest.UsageError, match=r"^vggt-perf: --benchmark-disable times no rounds: it cannot write"):
        read_options(config)
