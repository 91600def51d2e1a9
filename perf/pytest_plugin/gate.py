"""One case under the gate: measure it with the backend that should run, judge it against its entry, and end the
test the way the verdict says (a regression or a wrong output fails it with one line)."""

from __future__ import annotations

from typing import Any

import pytest

from perf.core.compare import judge
from perf.core.confirmation import confirm
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
    entry = baseline.entries.get(key.case_id) if baseline else None
    first = state.record.first.get(key.case_id)
    if first is not None and entry is not None:  # --confirm-from: both runs together decide
        verdict = confirm(first, result, entry)
    else:
        verdict = judge(result, entry, options.require_baseline)
    state.record.verdicts.append(verdict)
    if result.outcome is Outcome.WRONG:
        pytest.fail(f"WRONG {verdict.reason}", pytrace=False)
    if result.outcome is not Outcome.OK:
        pytest.skip(verdict.reason)
    if verdict.kind is VerdictKind.REGRESSION and not options.update_baselines:
        pytest.fail(f"REGRESSION {verdict.reason}", pytrace=False)


def confirmation_outcome(session: pytest.Session, state: SuiteState) -> None:
    """--confirm-from: the first run's standing failures join the verdicts and fail the session; a first run with
    nothing to confirm passes (pytest would say "no tests ran")."""
    record = state.record
    record.verdicts.extend(record.standing)
    confirmed = sum(1 for v in record.verdicts if v.case_id in record.first and v.kind is VerdictKind.REGRESSION)
    record.notes.append(
        f"vggt-perf: confirmation of {state.options.confirm_from}: {len(record.first)} time regressions re-measured, "
        f"{confirmed} confirmed; {len(record.standing)} other failures of the first run stand"
    )
    record.notes.extend(f"vggt-perf: {v.reason}" for v in record.verdicts if v.case_id in record.first)
    if record.standing:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif not record.first and session.exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK
