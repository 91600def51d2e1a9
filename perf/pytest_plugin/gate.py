"""One case under the gate: measure it with the backend that should run, judge it against its entry, and end the
test the way the verdict says (a regression or a wrong output fails it with one line)."""

from __future__ import annotations

from typing import Any

import pytest

from perf.core.compare import judge
from perf.core.results import CaseKey, Outcome, VerdictKind
from perf.measure.case import measure_case
from perf.pytest_plugin.options import SuiteOptions
from perf.pytest_plugin.state import MeasuredCase, SuiteState
from perf.storage.extra_info import to_extra_info
from perf.workloads.vggt import ModelError


def backend_to_measure(options: SuiteOptions, key: CaseKey) -> str:
    """The case's own backend, or the one --substitute-backend measures in its place."""
    if options.substitute_backend and options.substitute_backend[0] == key.backend:
        return options.substitute_backend[1]
    return key.backend


def run_case(state: SuiteState, key: CaseKey, benchmark: Any) -> None:
    options = state.options
    backend = backend_to_measure(options, key)
    benchmark.group = f"{key.workload} {key.frames}f {key.resolution}"  # backends side by side
    try:
        result = measure_case(
            key, state.workloads[key.workload], state.backends[backend], benchmark, state.runtime, options.rounds
        )
    except ModelError as error:
        pytest.fail(str(error), pytrace=False)
    state.record.measured[key.case_id] = MeasuredCase(result, backend)
    benchmark.extra_info.update(to_extra_info(result, backend, state.device["slug"]))
    baseline = state.record.baseline
    verdict = judge(result, baseline.entries.get(key.case_id) if baseline else None, options.require_baseline)
    state.record.verdicts.append(verdict)
    if result.outcome is Outcome.WRONG:
        pytest.fail(f"WRONG {verdict.reason}", pytrace=False)
    if result.outcome is not Outcome.OK:
        pytest.skip(verdict.reason)
    if verdict.kind is VerdictKind.REGRESSION and not options.update_baselines:
        pytest.fail(f"REGRESSION {verdict.reason}", pytrace=False)
