"""The session's state in config.stash: what pytest_configure decided, frozen, and the record of what the run found."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from perf.backends.protocol import Backend
from perf.core.baselines import Baseline
from perf.core.catalog import PROFILES, matrix
from perf.core.environment_diff import EnvironmentDrift
from perf.core.results import CaseKey, CaseResult, Verdict
from perf.hardware.device import select_device
from perf.hardware.fingerprint import describe_device, fingerprint, vggt_revision
from perf.pytest_plugin.options import SuiteOptions
from perf.workloads.registry import Workload
from perf.workloads.runtime import Runtime
from perf.workloads.vggt import VggtModels


@dataclass(frozen=True)
class MeasuredCase:
    """A case's result and the backend that actually ran it: its own, or --substitute-backend's."""

    result: CaseResult
    backend: str


@dataclass
class RunRecord:
    """What the session finds out as it goes, each field filled by one hook (plugin.py says which)."""

    baseline: Baseline | None = None  # read once the cases are collected
    environment: dict[str, str] | None = None  # this run's fingerprint, taken once: see run_environment
    drift: list[EnvironmentDrift] = field(default_factory=list)
    collected: set[str] = field(default_factory=set)  # the case ids this session runs: after -k, -m and --lf
    measured: dict[str, MeasuredCase] = field(default_factory=dict)
    verdicts: list[Verdict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what an update wrote or held back, for the summary
    first: dict[str, CaseResult] = field(default_factory=dict)  # --confirm-from: the first run's results to confirm
    standing: list[Verdict] = field(default_factory=list)  # --confirm-from: the first run's failures, not re-measured

    def results(self) -> dict[str, CaseResult]:
        return {case_id: measured.result for case_id, measured in self.measured.items()}


@dataclass(frozen=True)
class SuiteState:
    """Everything one session shares. The registries are taken once, in pytest_configure, and passed down."""

    options: SuiteOptions
    workloads: Mapping[str, Workload]
    backends: Mapping[str, Backend]
    profile: str
    runtime: Runtime
    device: Mapping[str, str]  # perf.hardware.fingerprint.describe_device: name, slug, memory
    cases: tuple[CaseKey, ...]  # the selected matrix: the profile and the axis options
    baseline_path: Path
    record: RunRecord = field(default_factory=RunRecord)


STATE = pytest.StashKey[SuiteState]()


def configure_suite(
    options: SuiteOptions, rootdir: Path, workloads: Mapping[str, Workload], backends: Mapping[str, Backend]
) -> SuiteState:
    """The session's device, profile and case matrix; the baseline file defaults to <rootdir>/baselines/<slug>.json,
    so a repository that runs the packaged benchmarks (perf.benchmarks) keeps its own baselines."""
    device = select_device()
    profile = options.profile or ("full" if device.type == "cuda" else "smoke")
    described = describe_device(device)
    return SuiteState(
        options=options,
        workloads=workloads,
        backends=backends,
        profile=profile,
        runtime=Runtime(device, VggtModels(device, options.vggt_weights)),
        device=described,
        cases=tuple(
            matrix(PROFILES[profile], options.workloads, options.backends, options.frames, options.resolutions)
        ),
        baseline_path=options.baseline_file or rootdir / "baselines" / f"{described['slug']}.json",
    )


def run_environment(state: SuiteState) -> dict[str, str]:
    """This run's fingerprint, taken once per session: compared after collection, recorded by an update."""
    if state.record.environment is None:
        revision = state.options.vggt_revision or vggt_revision()
        state.record.environment = fingerprint(state.runtime.device, revision)
    return state.record.environment
