"""Every command-line option of the suite, read once into a frozen SuiteOptions.

The axis options are checked against the catalog's names (perf.core.catalog): options are parsed before
pytest_configure takes the registries that run those names (perf.pytest_plugin.state).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from perf.core.arguments import fraction, list_of, positive_int, seconds
from perf.core.catalog import BACKEND_NAMES, PROFILES, WORKLOADS
from perf.core.results import Resolution
from perf.core.tolerance import DEFAULT_MEMORY_TOLERANCE, DEFAULT_TIME_TOLERANCE
from perf.measure.timing import RoundPolicy


@dataclass(frozen=True)
class SuiteOptions:
    profile: str | None  # None: smoke without a GPU, full with one
    workloads: tuple[str, ...] | None
    backends: tuple[str, ...] | None
    frames: tuple[int, ...] | None
    resolutions: tuple[Resolution, ...] | None
    vggt_weights: Path | None
    vggt_revision: str
    baseline_file: Path | None
    update_baselines: bool
    require_baseline: bool
    strict_env: bool  # an environment that differs from the compared baseline runs' stops the session
    time_tolerance: float
    memory_tolerance: float
    rounds: RoundPolicy
    substitute_backend: tuple[str, str] | None
    benchmark_only: bool  # pytest-benchmark's --benchmark-only: unit tests are deselected, not skipped
    benchmark_skip: bool  # pytest-benchmark's --benchmark-skip (less --benchmark-only): no case runs
    github_summary: Path | None = None  # where the verdicts go as markdown (a CI job summary), with annotations
    confirm_from: Path | None = None  # a first gate run's --benchmark-json: re-measure its time regressions only


def _substitution(text: str) -> tuple[str, str]:
    case_backend, _, measured = text.partition("=")
    if case_backend not in BACKEND_NAMES or measured not in BACKEND_NAMES:
        raise argparse.ArgumentTypeError(f"expected CASE_BACKEND=MEASURED_BACKEND from {', '.join(BACKEND_NAMES)}")
    return case_backend, measured


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("vggt-perf", "VGGT inference benchmarks")
    add: Any = group.addoption
    _add_case_options(add)
    _add_baseline_options(add)
    _add_measurement_options(add)


def _add_case_options(add: Any) -> None:
    """What is measured: the case matrix's axes and the model."""
    add(
        "--profile",
        choices=sorted(PROFILES),
        default=None,
        help="case set: smoke (CPU-sized), quick (the PR gate), full (everything). "
        "Default: smoke without a CUDA GPU, full with one.",
    )
    add(
        "--workloads",
        type=list_of(str, list(WORKLOADS)),
        default=None,
        help=f"comma-separated workloads from {', '.join(WORKLOADS)}. Default: the profile's.",
    )
    add(
        "--backends",
        type=list_of(str, BACKEND_NAMES),
        default=None,
        help=f"comma-separated attention backends from {', '.join(BACKEND_NAMES)}. Default: the profile's.",
    )
    add(
        "--frames",
        type=list_of(positive_int),
        default=None,
        help="comma-separated frame counts. Default: the profile's (full: 1,2,4,8,10,20,50,100,200).",
    )
    add(
        "--resolution",
        type=list_of(Resolution.parse),
        default=None,
        help="comma-separated HxW input sizes. Default: the profile's (full: 350x518,518x518).",
    )
    add(
        "--vggt-weights",
        type=Path,
        default=None,
        help="local VGGT checkpoint (.pt state dict or .safetensors), loaded safely. Default: random weights.",
    )
    add(
        "--vggt-revision",
        default="",
        help="label recorded in baselines for the vggt measured, e.g. a commit when run from source. "
        "Default: the installed version and git commit.",
    )


def _add_baseline_options(add: Any) -> None:
    """What the run is compared with, and what it writes."""
    add(
        "--baseline-file",
        type=Path,
        default=None,
        help="baseline to compare with and update. Default: baselines/<gpu-slug>.json under the rootdir.",
    )
    add(
        "--github-summary",
        type=Path,
        default=None,
        metavar="PATH",
        help="append the verdicts as markdown to PATH (in GitHub Actions: $GITHUB_STEP_SUMMARY) and print an "
        "::error annotation per regressed or wrong case. Default: off.",
    )
    add(
        "--update-baselines",
        action="store_true",
        default=False,
        help="write measured cases into the baseline file, keeping all other entries. Default: off.",
    )
    add(
        "--confirm-from",
        type=Path,
        default=None,
        metavar="FIRST.json",
        help="confirm a gate run: re-measure, in this fresh process, only the cases whose time regressed in FIRST.json "
        "(that run's --benchmark-json), judged against the baseline again, and fail a case only where both runs "
        "together regress (their geometric mean beyond its tolerance); the first run's other failures (wrong "
        "outputs, memory) fail this run too. Default: off.",
    )
    add(
        "--require-baseline",
        action="store_true",
        default=False,
        help="fail cases that have no baseline entry. Default: off (they pass with a note).",
    )
    add(
        "--strict-env",
        action="store_true",
        default=False,
        help="stop before any case runs when this run's environment (torch, CUDA, cuDNN, driver, GPU clocks and "
        "power limit, host CPU, vggt, attention libraries) differs from that of the baseline runs it compares with; "
        "--update-baselines still records. Default: off (the differing fields are reported and cases run).",
    )


def _add_measurement_options(add: Any) -> None:
    """How new entries are tolerated, how rounds are timed, and the gate's self-test."""
    add(
        "--time-tolerance",
        type=fraction,
        default=DEFAULT_TIME_TOLERANCE,
        help=f"least slowdown recorded as a new entry's tolerance, widened by its noise. "
        f"Default: {DEFAULT_TIME_TOLERANCE}.",
    )
    add(
        "--memory-tolerance",
        type=fraction,
        default=DEFAULT_MEMORY_TOLERANCE,
        help=f"peak-memory growth recorded as a new entry's tolerance. Default: {DEFAULT_MEMORY_TOLERANCE}.",
    )
    add(
        "--max-time",
        type=seconds,
        default=RoundPolicy.max_time_s,
        help="most seconds of timed rounds per case, if --precision is not reached sooner (at least --min-rounds). "
        f"Default: {RoundPolicy.max_time_s}.",
    )
    add(
        "--precision",
        type=fraction,
        default=RoundPolicy.precision,
        help="rounds stop once the median's 95 %% confidence interval is within +-this fraction of it, or at "
        f"--max-time. Default: {RoundPolicy.precision}.",
    )
    add(
        "--min-rounds",
        type=positive_int,
        default=RoundPolicy.min_rounds,
        help=f"fewest timed rounds per case. Default: {RoundPolicy.min_rounds}.",
    )
    add(
        "--warmup-time",
        type=seconds,
        default=RoundPolicy.warmup_s,
        help=f"seconds of untimed warm-up per case, at least one forward. Default: {RoundPolicy.warmup_s}.",
    )
    add(
        "--substitute-backend",
        type=_substitution,
        default=None,
        metavar="CASE=MEASURED",
        help="measure MEASURED where a case names CASE, to prove the gate fails a slower kernel "
        "(e.g. sdpa-flash=sdpa-math). Cannot be combined with --update-baselines. Default: off.",
    )


def read_options(config: pytest.Config) -> SuiteOptions:
    get = config.getoption
    options = SuiteOptions(
        profile=get("--profile"),
        workloads=get("--workloads"),
        backends=get("--backends"),
        frames=get("--frames"),
        resolutions=get("--resolution"),
        vggt_weights=get("--vggt-weights"),
        vggt_revision=get("--vggt-revision"),
        baseline_file=get("--baseline-file"),
        update_baselines=get("--update-baselines"),
        require_baseline=get("--require-baseline"),
        strict_env=get("--strict-env"),
        time_tolerance=get("--time-tolerance"),
        memory_tolerance=get("--memory-tolerance"),
        rounds=RoundPolicy(get("--warmup-time"), get("--max-time"), get("--min-rounds"), precision=get("--precision")),
        substitute_backend=get("--substitute-backend"),
        benchmark_only=get("--benchmark-only", False),
        benchmark_skip=get("--benchmark-skip", False) and not get("--benchmark-only", False),
        github_summary=get("--github-summary"),
        confirm_from=get("--confirm-from"),
    )
    if options.update_baselines and options.confirm_from:
        raise pytest.UsageError("--confirm-from re-measures a gate run's regressions: it cannot write baselines")
    if options.update_baselines and options.substitute_backend:
        raise pytest.UsageError("--substitute-backend measures another kernel: it cannot write baselines")
    if options.update_baselines and get("--benchmark-disable", False) and not get("--benchmark-enable", False):
        raise pytest.UsageError("vggt-perf: --benchmark-disable times no rounds: it cannot write baselines")
    return options
