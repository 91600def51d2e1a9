"""Which environment fields differ between a baseline's runs and this run, and how that is told."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perf.core.baselines import Baseline, BaselineEntry, RunInfo
from perf.core.environment_diff import (
    IGNORED_FIELDS,
    EnvironmentDrift,
    FieldDifference,
    describe_drift,
    environment_differences,
    environment_drift,
    strict_env_error,
)
from perf.core.results import CaseKey, Resolution, Timing

RUN = {
    "python": "3.12.3",
    "torch": "2.11.0+cu130",
    "cuda": "13.0",
    "cudnn": "91900",
    "driver": "580.159.04",
    "gpu_name": "NVIDIA H100 80GB HBM3",
    "power_limit_w": "700",
    "ecc": "on",
    "host_cpu": "Intel(R) Xeon(R) Processor x16",
    "host_cpu_count": "16",
    "vggt": "0.0.1 44b3afbd1869d8bde4894dd8ea1e293112dd5eba",
    "flash-attn": "",
    "pytest-benchmark": "5.2.3",
}

FIELDS = st.sampled_from([*RUN, "triton", "sm_clock_max_mhz"])
VALUES = st.sampled_from(["", "1", "2", "2.11.0", "on", "off"])
ENVIRONMENTS = st.dictionaries(FIELDS, VALUES)


@settings(max_examples=200, deadline=None)
@given(ENVIRONMENTS)
def test_an_environment_does_not_differ_from_itself(environment: dict[str, str]) -> None:
    assert environment_differences(environment, dict(environment)) == []


@settings(max_examples=200, deadline=None)
@given(ENVIRONMENTS, ENVIRONMENTS)
def test_differences_are_symmetric_in_fields_and_swap_their_values(a: dict[str, str], b: dict[str, str]) -> None:
    forward, backward = environment_differences(a, b), environment_differences(b, a)
    assert [(d.field, d.run, d.baseline) for d in backward] == [tuple(d) for d in forward]


@settings(max_examples=200, deadline=None)
@given(ENVIRONMENTS, ENVIRONMENTS)
def test_only_fields_both_sides_record_with_a_value_are_compared(a: dict[str, str], b: dict[str, str]) -> None:
    differences = environment_differences(a, b)
    assert [d.field for d in differences] == sorted(d.field for d in differences)
    for field, baseline, run in differences:
        assert field not in IGNORED_FIELDS
        assert (a[field], b[field]) == (baseline, run)
        assert baseline and run and baseline != run
    compared = {d.field for d in differences}
    assert compared == {f for f in a.keys() & b.keys() if a[f] and b[f] and a[f] != b[f]} - IGNORED_FIELDS


def test_a_changed_version_is_a_difference_naming_both_values() -> None:
    run = {**RUN, "torch": "2.12.0+cu130", "driver": "590.10"}
    assert environment_differences(RUN, run) == [
        FieldDifference("driver", "580.159.04", "590.10"),
        FieldDifference("torch", "2.11.0+cu130", "2.12.0+cu130"),
    ]


@pytest.mark.parametrize(
    ("baseline", "run"),
    [
        ({"driver": "580.159.04"}, {"driver": ""}),  # no NVML on this run: unknown, not different
        ({"flash-attn": "2.8.3"}, {"flash-attn": ""}),  # the library is absent: its cases skip
        ({"python": "3.12.3"}, {}),  # a field the baseline's vggt-perf did not record yet
        ({"pytest-benchmark": "5.2.3"}, {"pytest-benchmark": "5.3.0"}),  # the harness, not what is timed
    ],
    ids=["unknown-here", "absent-library", "one-sided", "ignored"],
)
def test_unknown_one_sided_and_ignored_fields_are_not_differences(baseline: dict, run: dict) -> None:
    assert environment_differences(baseline, run) == []


def test_the_ignored_fields_can_be_chosen() -> None:
    baseline, run = {"pytest-benchmark": "5.2.3", "torch": "1"}, {"pytest-benchmark": "5.3.0", "torch": "2"}
    assert [d.field for d in environment_differences(baseline, run, ignore=())] == ["pytest-benchmark", "torch"]
    assert environment_differences(baseline, run, ignore={"torch", "pytest-benchmark"}) == []


@pytest.mark.parametrize(
    ("baseline", "run", "same"),
    [
        ("44b3afbd1869d8bde4894dd8ea1e293112dd5eba", "0.0.1 44b3afbd1869d8bde4894dd8ea1e293112dd5eba", True),
        ("44b3afb", "0.0.1 44b3afbd1869d8bde4894dd8ea1e293112dd5eba", True),  # a short commit
        ("0.0.1 44b3afb", "0.0.1 0123abc", False),
        ("0.0.1", "0.0.2", False),
        ("my-fork", "0.0.1 44b3afb", False),
        ("44B3AFBD1869D8BDE4894DD8EA1E293112DD5EBA", "0.0.1 44b3afbd1869d8bde4894dd8ea1e293112dd5eba", True),
        ("0.0.1+g44b3afb", "44b3afbd1869d8bde4894dd8ea1e293112dd5eba", True),  # a setuptools-scm version
    ],
)
def test_vggt_values_naming_one_commit_are_the_same_vggt(baseline: str, run: str, same: bool) -> None:
    assert (environment_differences({"vggt": baseline}, {"vggt": run}) == []) is same
    assert (environment_differences({"torch": baseline}, {"torch": run}) == []) is (baseline == run)


@pytest.mark.parametrize(
    ("baseline", "run", "same"),
    [
        ("0.2.0 2a1d9b5c31e4", "0.2.0 f99ab51c0d3e-dirty", True),  # every PR has its own commit
        ("0.2.0", "0.2.0 f99ab51c0d3e", True),
        ("0.2.0 2a1d9b5c31e4", "0.3.0 2a1d9b5c31e4", False),  # a new methodology is a new version
    ],
)
def test_suite_values_are_one_suite_when_their_versions_match(baseline: str, run: str, same: bool) -> None:
    assert (environment_differences({"vggt-perf": baseline}, {"vggt-perf": run}) == []) is same


def entry(frames: int, run: str) -> BaselineEntry:
    key = CaseKey("attention", "sdpa-math", frames, Resolution(28, 28))
    return BaselineEntry(key, "fp32", Timing(1.0, 0.0, 1.0, 1.0, 3), None, 0.05, 0.02, run)


def case_id(frames: int) -> str:
    return f"attention-sdpa-math-{frames}f-28x28"


def baseline_of(runs: dict[str, tuple[str, dict[str, str]]], entries: dict[int, str]) -> Baseline:
    """Runs as id -> (measured_at, environment); entries as frames -> run id."""
    return Baseline(
        {"name": "cpu", "slug": "cpu-test"},
        {run_id: RunInfo(when, "pytest", environment) for run_id, (when, environment) in runs.items()},
        {case_id(frames): entry(frames, run_id) for frames, run_id in entries.items()},
    )


def test_only_the_runs_that_wrote_the_compared_entries_are_compared() -> None:
    baseline = baseline_of(
        {
            "new": ("2026-11-27T00:00:00+00:00", {**RUN, "torch": "2.12.0"}),
            "old": ("2026-11-26T00:00:00+00:00", RUN),
            "other": ("2026-11-28T00:00:00+00:00", {**RUN, "torch": "2.13.0"}),  # wrote no compared entry
        },
        {1: "old", 2: "old", 4: "new", 8: "other"},
    )
    drift = environment_drift(baseline, [case_id(1), case_id(2), case_id(4), case_id(50)], RUN)
    assert drift == [EnvironmentDrift(("new",), 1, (FieldDifference("torch", "2.12.0", RUN["torch"]),))]
    assert environment_drift(baseline, [case_id(1), case_id(50)], RUN) == []
    assert environment_drift(baseline, [], {**RUN, "torch": "9"}) == []  # no entry compared: nothing to distrust


def test_runs_with_the_same_differences_are_told_once_oldest_first() -> None:
    moved = {**RUN, "driver": "590.10"}
    baseline = baseline_of(
        {
            "b": ("2026-11-26T00:00:02+00:00", RUN),
            "a": ("2026-11-26T00:00:01+00:00", RUN),
            "c": ("2026-11-26T00:00:03+00:00", {**RUN, "torch": "2.10.0"}),
        },
        {1: "a", 2: "b", 4: "b", 8: "c"},
    )
    assert environment_drift(baseline, map(case_id, (1, 2, 4, 8)), moved) == [
        EnvironmentDrift(("a", "b"), 3, (FieldDifference("driver", "580.159.04", "590.10"),)),
        EnvironmentDrift(
            ("c",),
            1,
            (FieldDifference("driver", "580.159.04", "590.10"), FieldDifference("torch", "2.10.0", RUN["torch"])),
        ),
    ]


@pytest.mark.parametrize(
    ("run_ids", "entries", "told"),
    [
        (("r1",), 1, "run r1 (1 compared entry)"),
        (("r1", "r2"), 2, "runs r1, r2 (2 compared entries)"),
        (("r1", "r2", "r3"), 7, "3 runs, r1 … r3 (7 compared entries)"),
    ],
)
def test_a_drift_is_described_on_one_line(run_ids: tuple[str, ...], entries: int, told: str) -> None:
    differences = (FieldDifference("driver", "580", "590"), FieldDifference("torch", "a", "b"))
    drift = EnvironmentDrift(run_ids, entries, differences)
    assert describe_drift(drift) == f"baseline {told}: driver 580 -> 590; torch a -> b"


def test_the_strict_env_error_is_one_line_naming_the_file_and_fields() -> None:
    drifts = [
        EnvironmentDrift(("r1",), 2, (FieldDifference("torch", "2.11.0", "2.12.0"),)),
        EnvironmentDrift(("r2",), 1, (FieldDifference("ecc", "on", "off"),)),
    ]
    error = strict_env_error(Path("baselines/nvidia-h100-80gb-hbm3.json"), drifts)
    assert "\n" not in error
    assert error.startswith("baselines/nvidia-h100-80gb-hbm3.json: this run's environment differs from baseline run r1")
    assert "torch 2.11.0 -> 2.12.0" in error
    assert "ecc on -> off" in error
    assert "--strict-env" in error
