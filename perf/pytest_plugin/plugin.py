"""The pytest plugin: each hook is a few lines that call into the modules of perf/."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from perf.backends.registry import BACKENDS
from perf.core.admission import baseline_refusal
from perf.core.baselines import Baseline, BaselineEntry, BaselineError, RunInfo
from perf.core.catalog import PROFILES, matrix
from perf.core.compare import judge, missing_verdicts
from perf.core.environment_diff import EnvironmentDrift, describe_drift, environment_drift, strict_env_error
from perf.core.results import CaseKey, CaseResult, Outcome, Verdict, VerdictKind
from perf.core.tolerance import new_entry
from perf.hardware.device import reduced_precision, select_device
from perf.hardware.fingerprint import describe_device, fingerprint, vggt_revision
from perf.measure.case import measure_case
from perf.pytest_plugin.options import SuiteOptions, add_options, read_options
from perf.report.verdicts import github_annotations, render_markdown, render_verdict_table, summarize_counts
from perf.storage.baseline_file import load_baseline, update_baseline
from perf.storage.benchmark_json import FINGERPRINT_FIELD, GPU_FIELD
from perf.storage.extra_info import to_extra_info
from perf.workloads.registry import WORKLOADS
from perf.workloads.runtime import Runtime
from perf.workloads.vggt import ModelError, VggtModels


@dataclass
class SuiteState:
    """Everything one session shares, kept in config.stash."""

    options: SuiteOptions
    profile: str
    runtime: Runtime
    device: dict[str, str]
    cases: list[CaseKey]
    baseline_path: Path
    baseline: Baseline | None = None
    results: dict[str, CaseResult] = field(default_factory=dict)
    verdicts: list[Verdict] = field(default_factory=list)
    update_note: str = ""
    update_note_lines: list[str] = field(default_factory=list)
    environment: dict[str, str] | None = None  # this run's fingerprint, taken once: see run_environment
    drift: list[EnvironmentDrift] = field(default_factory=list)


STATE = pytest.StashKey[SuiteState]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    options = read_options(config)
    device = select_device()
    profile = options.profile or ("full" if device.type == "cuda" else "smoke")
    described = describe_device(device)
    config.stash[STATE] = SuiteState(
        options=options,
        profile=profile,
        runtime=Runtime(device, VggtModels(device, options.vggt_weights)),
        device=described,
        cases=matrix(PROFILES[profile], options.workloads, options.backends, options.frames, options.resolutions),
        baseline_path=options.baseline_file or config.rootpath / "baselines" / f"{described['slug']}.json",
    )


def pytest_report_header(config: pytest.Config) -> list[str]:
    state = config.stash[STATE]
    return [
        f"vggt-perf: {state.device['name']} (baseline {state.baseline_path}), profile {state.profile}, "
        f"{len(state.cases)} cases",
        backends_line(state),
    ]


def backends_line(state: SuiteState) -> str:
    """Which of this run's backends run here, by library version; `python -m perf backends` says why not."""
    device = state.runtime.device
    dtype = reduced_precision(device)
    selected = [BACKENDS[name] for name in dict.fromkeys(case.backend for case in state.cases)]
    reasons = {b.name: b.unavailable_reason(device, dtype) for b in selected}
    runs = [f"{b.name} ({b.distribution} {b.version()})" for b in selected if not reasons[b.name]]
    unavailable = [b.name for b in selected if reasons[b.name]]
    line = f"vggt-perf backends: {', '.join(runs) or 'none'} run here"
    return line + (f"; {', '.join(unavailable)} do not (python -m perf backends says why)" if unavailable else "")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "perf_case" in metafunc.fixturenames:
        cases = metafunc.config.stash[STATE].cases
        metafunc.parametrize("perf_case", cases, ids=[case.case_id for case in cases])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under --benchmark-only, tests without the benchmark fixture are deselected rather than listed as skips."""
    if not config.stash[STATE].options.benchmark_only:
        return
    others = [item for item in items if "benchmark" not in getattr(item, "fixturenames", ())]
    if others:
        config.hook.pytest_deselected(items=others)
        items[:] = [item for item in items if "benchmark" in getattr(item, "fixturenames", ())]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Validate the baseline before any case runs: a broken file stops the session with one line."""
    state = session.config.stash[STATE]
    if any("perf_case" in getattr(item, "fixturenames", ()) for item in session.items):
        try:
            state.baseline = load_baseline(state.baseline_path)
        except BaselineError as error:
            raise pytest.UsageError(str(error)) from None
        held = state.baseline.device.get("slug", "") if state.baseline else None
        if held is not None and held != state.device["slug"]:
            raise pytest.UsageError(
                f"{state.baseline_path}: holds baselines of {held!r}, this run is on {state.device['slug']!r}; "
                "timings of another device are no baseline: pass --baseline-file for this device's own file"
            )
        check_environment(state, session.items)


def check_environment(state: SuiteState, items: list[pytest.Item]) -> None:
    """Compare this run's environment with that of the baseline runs whose entries its cases are judged against.

    Differences are reported at the end; under --strict-env they stop the session here, unless it updates.
    """
    if state.baseline is None:
        return
    specs = [getattr(item, "callspec", None) for item in items]  # the collected (not deselected) cases
    case_ids = [spec.params["perf_case"].case_id for spec in specs if spec and "perf_case" in spec.params]
    drift = environment_drift(state.baseline, case_ids, run_environment(state))
    if drift and state.options.strict_env and not state.options.update_baselines:
        raise pytest.UsageError(strict_env_error(state.baseline_path, drift))
    state.drift = drift


def run_environment(state: SuiteState) -> dict[str, str]:
    """This run's fingerprint, taken once per session: compared after collection, recorded by an update."""
    if state.environment is None:
        state.environment = fingerprint(state.runtime.device, state.options.vggt_revision or vggt_revision())
    return state.environment


@pytest.hookimpl(optionalhook=True)  # pytest-benchmark's hook
def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
    """Put the suite's fingerprint and GPU into --benchmark-json files: `python -m perf baseline update
    --from-json` then records the run's environment as a live update would."""
    state = config.stash.get(STATE, None)
    if state is None:
        return
    machine_info[FINGERPRINT_FIELD] = run_environment(state)
    machine_info[GPU_FIELD] = state.device["name"]


@pytest.fixture
def vggt_perf(request: pytest.FixtureRequest) -> Any:
    """Measures a case and applies the gate; the benchmark test calls vggt_perf(perf_case, benchmark)."""
    state = request.config.stash[STATE]
    return lambda case, benchmark: run_case(state, case, benchmark)


def run_case(state: SuiteState, key: CaseKey, benchmark: Any) -> None:
    options = state.options
    measured_backend = key.backend
    if options.substitute_backend and options.substitute_backend[0] == key.backend:
        measured_backend = options.substitute_backend[1]
    benchmark.group = f"{key.workload} {key.frames}f {key.resolution}"  # backends side by side
    try:
        result = measure_case(
            key, WORKLOADS[key.workload], BACKENDS[measured_backend], benchmark, state.runtime, options.rounds
        )
    except ModelError as error:
        pytest.fail(str(error), pytrace=False)
    state.results[key.case_id] = result
    benchmark.extra_info.update(to_extra_info(result, measured_backend, state.device["slug"]))
    entry = state.baseline.entries.get(key.case_id) if state.baseline else None
    verdict = judge(result, entry, options.require_baseline)
    state.verdicts.append(verdict)
    if result.outcome is Outcome.WRONG:
        pytest.fail(f"WRONG {verdict.reason}", pytrace=False)
    if result.outcome is not Outcome.OK:
        pytest.skip(verdict.reason)
    if verdict.kind is VerdictKind.REGRESSION and not options.update_baselines:
        pytest.fail(f"REGRESSION {verdict.reason}", pytrace=False)


def _expected_ids(state: SuiteState) -> set[str]:
    """Baseline entries this run should have produced: the selected matrix's, and entries no registry knows."""
    if state.baseline is None:
        return set()
    selected = {case.case_id for case in state.cases}
    return {
        case_id
        for case_id, entry in state.baseline.entries.items()
        if case_id in selected or entry.key.workload not in WORKLOADS or entry.key.backend not in BACKENDS
    }


def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(STATE, None)
    if state is None or not state.results:
        return
    state.verdicts.extend(missing_verdicts(_expected_ids(state), state.results))
    if state.options.update_baselines:
        try:
            written = write_measured(state, session.config)
        except BaselineError as error:
            state.update_note = f"vggt-perf: baseline NOT updated: {error}"
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
        else:
            state.update_note = f"vggt-perf: wrote {written} entries to {state.baseline_path}"


def write_measured(state: SuiteState, config: pytest.Config) -> int:
    options = state.options
    measured_at = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    run = RunInfo(
        measured_at=measured_at,
        command=" ".join(["pytest", *config.invocation_params.args]),
        environment=run_environment(state),
    )
    refusals = {
        case_id: baseline_refusal(
            result.key, result.key.backend, result.outcome, result.reason, result.clocks.suspect, WORKLOADS
        )
        for case_id, result in state.results.items()
    }
    entries = [
        new_entry(
            result.key,
            result.dtype,
            result.timing,
            result.memory,
            result.evidence,
            least_time_tolerance=options.time_tolerance,
            memory_tolerance=options.memory_tolerance,
            regimes=WORKLOADS[result.key.workload].regimes,
        )
        for case_id, result in state.results.items()
        if not refusals[case_id] and result.timing is not None
    ]
    held_back = [  # measured, yet refused (a throttled GPU): said, where a skipped case's reason is its verdict
        f"vggt-perf: {case_id} not written: {refusals[case_id]}"
        for case_id, result in state.results.items()
        if result.outcome is Outcome.OK and refusals[case_id]
    ]
    if entries:
        update_baseline(state.baseline_path, state.device, entries, measured_at, run)
        state.update_note_lines = reset_tolerances(state.baseline, entries)
    state.update_note_lines = [*held_back, *state.update_note_lines]
    return len(entries)


def reset_tolerances(before: Baseline | None, written: list[BaselineEntry]) -> list[str]:
    """The replaced entries whose tolerance the update changed: a hand-widened one is never reset without a word."""
    old = before.entries if before else {}
    lines = []
    for entry in written:
        kept = old.get(entry.key.case_id)
        for name in ("time_tolerance", "memory_tolerance"):
            if kept is not None and getattr(kept, name) != getattr(entry, name):
                was, now = getattr(kept, name), getattr(entry, name)
                lines.append(
                    f"vggt-perf: {entry.key.case_id}: {name} {was:+.0%} -> {now:+.0%} (re-derived from this run)"
                )
    return lines


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None:
        return
    if state.drift:
        terminalreporter.section("vggt-perf environment")
        for drift in state.drift:
            terminalreporter.write_line(f"vggt-perf: environment differs from the {describe_drift(drift)}")
    if not state.verdicts:
        return
    terminalreporter.section("vggt-perf verdicts")
    for line in render_verdict_table(state.verdicts):
        terminalreporter.write_line(line)
    if state.options.github_summary:
        write_github_summary(state, terminalreporter)
    terminalreporter.write_line(f"vggt-perf: {summarize_counts(state.verdicts)} ({state.baseline_path})")
    for result in state.results.values():
        if result.clocks.suspect and not state.options.update_baselines:  # an update says it did not write them
            terminalreporter.write_line(f"vggt-perf: suspect {result.key.case_id}: {result.clocks.suspect}")
    if state.update_note:
        terminalreporter.write_line(state.update_note)
    for line in state.update_note_lines:
        terminalreporter.write_line(line)


def write_github_summary(state: SuiteState, terminalreporter: Any) -> None:
    """Append the verdicts as markdown to --github-summary's file; print an annotation per failing case."""
    path = state.options.github_summary
    assert path is not None
    title = f"vggt-perf on {state.device['name']} against {state.baseline_path.name}"
    try:
        with path.open("a", encoding="utf-8") as summary:
            summary.write("\n".join(render_markdown(state.verdicts, title)) + "\n")
    except OSError as error:
        terminalreporter.write_line(f"vggt-perf: the summary was not written to {path}: {error.strerror}")
    for line in github_annotations(state.verdicts):
        terminalreporter.write_line(line)
