"""The pytest plugin: each hook is a few lines that call into the modules of perf.pytest_plugin.

In hook order: options are read and the registries taken (configure), the matrix parametrized (generate_tests),
the cases checked before the first runs (collection_finish), each case measured and judged (the vggt_perf
fixture), entries written (sessionfinish, under --update-baselines) and the verdicts shown (terminal_summary).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from perf.backends.registry import BACKENDS
from perf.core.compare import missing_verdicts
from perf.core.results import CaseKey
from perf.pytest_plugin import collection
from perf.pytest_plugin.benchmark_flags import record_suite_rounds, refuse_histogram_without_pygal
from perf.pytest_plugin.distribution import refuse_distributed_cases
from perf.pytest_plugin.gate import confirmation_outcome, run_case
from perf.pytest_plugin.header import header_lines
from perf.pytest_plugin.options import add_options, read_options
from perf.pytest_plugin.state import STATE, SuiteState, configure_suite, run_environment
from perf.pytest_plugin.summary import write_summary
from perf.pytest_plugin.update import update_after_run
from perf.storage.benchmark_json import FINGERPRINT_FIELD, GPU_FIELD
from perf.workloads.registry import WORKLOADS


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    options = read_options(config)
    refuse_histogram_without_pygal(config)
    config.stash[STATE] = configure_suite(options, config.rootpath, WORKLOADS, BACKENDS)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return header_lines(config.stash[STATE])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    collection.parametrize_cases(metafunc, metafunc.config.stash[STATE])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.stash[STATE].options.benchmark_only:
        collection.deselect_non_benchmarks(config, items)
    if config.stash[STATE].options.confirm_from:
        collection.select_for_confirmation(config, config.stash[STATE], items)


def pytest_collection_finish(session: pytest.Session) -> None:
    collection.prepare_run(session.config, session.config.stash[STATE], session.items)


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's, on the controller: a worker's collected test ids
def pytest_xdist_node_collection_finished(node: Any, ids: Sequence[str]) -> None:
    state = node.config.stash[STATE]
    refuse_distributed_cases(ids, {case.case_id for case in state.cases}, state.options.benchmark_skip)


@pytest.hookimpl(optionalhook=True)  # pytest-benchmark's
def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
    """Put the suite's fingerprint and GPU into --benchmark-json files: `python -m perf baseline update
    --from-json` then records the run's environment as a live update would."""
    if (state := config.stash.get(STATE, None)) is not None:
        machine_info[FINGERPRINT_FIELD] = run_environment(state)
        machine_info[GPU_FIELD] = state.device["name"]


@pytest.hookimpl(optionalhook=True)  # pytest-benchmark's
def pytest_benchmark_update_json(config: pytest.Config, benchmarks: Any, output_json: dict[str, Any]) -> None:
    if (state := config.stash.get(STATE, None)) is not None:
        record_suite_rounds(output_json, state.options.rounds)


@pytest.fixture
def vggt_perf(request: pytest.FixtureRequest) -> Callable[[CaseKey, Any], None]:
    """Measures a case and applies the gate; the benchmark test calls vggt_perf(perf_case, benchmark)."""
    state: SuiteState = request.config.stash[STATE]
    return lambda case, benchmark: run_case(state, case, benchmark)


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(STATE, None)
    if state is None:
        return
    if state.options.confirm_from:
        confirmation_outcome(session, state)
    if not state.record.measured:
        return
    state.record.verdicts.extend(missing_verdicts(collection.expected_ids(state), state.record.measured))
    if state.options.update_baselines:
        update_after_run(state, session)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if (state := config.stash.get(STATE, None)) is not None:
        write_summary(terminalreporter, state)
