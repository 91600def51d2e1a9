"""From collection to the first case: the matrix parametrized, the cases this session runs, and the checks that stop
a session before any case runs (refused options, a broken or foreign baseline, under --strict-env a drift)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from perf.core.baselines import Baseline, BaselineError
from perf.core.confirmation import as_result, first_run_verdicts, standing_failures, to_confirm
from perf.core.environment_diff import environment_drift, strict_env_error
from perf.pytest_plugin.benchmark_flags import refuse_replaced_flags, time_table_in_seconds
from perf.pytest_plugin.distribution import is_xdist_worker
from perf.pytest_plugin.state import SuiteState, run_environment
from perf.storage.baseline_file import load_baseline
from perf.storage.benchmark_json import read_benchmark_json

CASE_FIXTURE = "perf_case"  # the benchmark test's parameter: one test per case of the selected matrix


def parametrize_cases(metafunc: pytest.Metafunc, state: SuiteState) -> None:
    if CASE_FIXTURE in metafunc.fixturenames:
        metafunc.parametrize(CASE_FIXTURE, state.cases, ids=[case.case_id for case in state.cases])


def case_ids_of(items: Sequence[pytest.Item]) -> list[str]:
    """The suite's cases among the items, by case id."""
    specs = [getattr(item, "callspec", None) for item in items]
    return [spec.params[CASE_FIXTURE].case_id for spec in specs if spec and CASE_FIXTURE in spec.params]


def deselect_non_benchmarks(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under --benchmark-only, tests without the benchmark fixture are deselected rather than listed as skips."""
    others = [item for item in items if "benchmark" not in getattr(item, "fixturenames", ())]
    if others:
        config.hook.pytest_deselected(items=others)
        items[:] = [item for item in items if "benchmark" in getattr(item, "fixturenames", ())]


def select_for_confirmation(config: pytest.Config, state: SuiteState, items: list[pytest.Item]) -> None:
    """--confirm-from: keep only the cases whose time regressed in the first run, judged against this baseline; record
    their first results, and the first run's other failures, which fail this run as they are."""
    path = state.options.confirm_from
    assert path is not None
    try:
        first_file = read_benchmark_json(path)
    except BaselineError as error:
        raise pytest.UsageError(f"--confirm-from: {error}") from None
    devices = {benchmark.device_slug for benchmark in first_file.benchmarks}
    if devices != {state.device["slug"]}:
        raise pytest.UsageError(
            f"--confirm-from {path}: measured on {', '.join(sorted(devices))}, this run is on "
            f"{state.device['slug']!r}; confirm a run on the device that made it"
        )
    baseline = state.record.baseline = checked_baseline(state)  # read once: prepare_run keeps it
    entries = baseline.entries if baseline else {}
    first = {benchmark.key.case_id: as_result(benchmark) for benchmark in first_file.benchmarks}
    verdicts = first_run_verdicts(first, entries, state.options.require_baseline)
    again = set(to_confirm(verdicts))
    state.record.first.update({case_id: first[case_id] for case_id in again})
    state.record.standing.extend(standing_failures(verdicts.values()))
    kept = [item for item in items if (ids := case_ids_of([item])) and ids[0] in again]
    dropped = [item for item in items if item not in kept]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = kept


def prepare_run(config: pytest.Config, state: SuiteState, items: Sequence[pytest.Item]) -> None:
    """Before the first case: refuse what cannot work, read and check the baseline. Only where cases will run here:
    a session of other tests (the plugin loads in every session of an environment that installed it) is left alone,
    and an xdist worker's session is the controller's to refuse (perf.pytest_plugin.distribution)."""
    case_ids = case_ids_of(items)
    state.record.collected.update(case_ids)
    if not case_ids or state.options.benchmark_skip or is_xdist_worker():
        return
    refuse_replaced_flags(config)
    time_table_in_seconds(config)
    state.record.baseline = state.record.baseline or checked_baseline(state)  # --confirm-from read it already
    check_environment(state, case_ids)


def checked_baseline(state: SuiteState) -> Baseline | None:
    """The baseline file, validated: a broken one, or another device's, stops the session with one line."""
    try:
        baseline = load_baseline(state.baseline_path)
    except BaselineError as error:
        raise pytest.UsageError(str(error)) from None
    held = baseline.device.get("slug", "") if baseline else None
    if held is not None and held != state.device["slug"]:
        raise pytest.UsageError(
            f"{state.baseline_path}: holds baselines of {held!r}, this run is on {state.device['slug']!r}; "
            "timings of another device are no baseline: pass --baseline-file for this device's own file"
        )
    return baseline


def check_environment(state: SuiteState, case_ids: Sequence[str]) -> None:
    """Compare this run's environment with that of the baseline runs whose entries its cases are judged against.

    Differences are reported at the end; under --strict-env they stop the session here, unless it updates.
    """
    baseline = state.record.baseline
    if baseline is None:
        return
    drift = environment_drift(baseline, case_ids, run_environment(state))
    if drift and state.options.strict_env and not state.options.update_baselines:
        raise pytest.UsageError(strict_env_error(state.baseline_path, drift))
    state.record.drift = drift


def expected_ids(state: SuiteState) -> set[str]:
    """Baseline entries this run should have produced: those of the cases it collected to run, which -k, -m and
    --lf narrow on purpose, and entries no registry knows (a retired workload or backend), which no run produces."""
    baseline = state.record.baseline
    if baseline is None:
        return set()
    return {
        case_id
        for case_id, entry in baseline.entries.items()
        if case_id in state.record.collected
        or entry.key.workload not in state.workloads
        or entry.key.backend not in state.backends
    }
