"""--update-baselines: the session's measured cases written as baseline entries, and what the summary says of it."""

from __future__ import annotations

import datetime
from collections.abc import Collection, Mapping

import pytest

from perf.core.admission import baseline_refusal
from perf.core.baselines import Baseline, BaselineEntry, BaselineError, RunInfo
from perf.core.results import Outcome
from perf.core.tolerance import new_entry
from perf.pytest_plugin.state import MeasuredCase, SuiteState, run_environment
from perf.storage.baseline_file import update_baseline


def update_after_run(state: SuiteState, session: pytest.Session) -> None:
    """Write the run's entries; a file that cannot be written is said in the summary and exits 4."""
    command = " ".join(["pytest", *session.config.invocation_params.args])
    try:
        state.record.notes.extend(write_measured(state, command))
    except BaselineError as error:
        state.record.notes.append(f"vggt-perf: baseline NOT updated: {error}")
        session.exitstatus = pytest.ExitCode.USAGE_ERROR


def write_measured(state: SuiteState, command: str) -> list[str]:
    """Merge every admitted case into the baseline file as one run; the lines say what was written and held back."""
    measured_at = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    refusals = refusals_of(state.record.measured, state.workloads)
    entries = [
        new_entry(
            case.result.key,
            case.result.dtype,
            case.result.timing,
            case.result.memory,
            case.result.evidence,
            least_time_tolerance=state.options.time_tolerance,
            memory_tolerance=state.options.memory_tolerance,
            regimes=state.workloads[case.result.key.workload].regimes,
        )
        for case_id, case in state.record.measured.items()
        if not refusals[case_id] and case.result.timing is not None
    ]
    held_back = [  # measured, yet refused (a throttled GPU): said, where a skipped case's reason is its verdict
        f"vggt-perf: {case_id} not written: {refusals[case_id]}"
        for case_id, case in state.record.measured.items()
        if case.result.outcome is Outcome.OK and refusals[case_id]
    ]
    reset: list[str] = []
    if entries:
        run = RunInfo(measured_at=measured_at, command=command, environment=run_environment(state))
        update_baseline(state.baseline_path, state.device, entries, measured_at, run)
        reset = reset_tolerances(state.record.baseline, entries)
    single = (
        [
            "vggt-perf: these entries are of one process each, held to at least +3 %: for a gate that holds across "
            "processes, run the profile in 3 processes with --benchmark-json and pool them with `python -m perf "
            "baseline update --from-json RUN1.json --from-json RUN2.json --from-json RUN3.json FILE`"
        ]
        if entries
        else []
    )
    return [f"vggt-perf: wrote {len(entries)} entries to {state.baseline_path}", *single, *held_back, *reset]


def refusals_of(measured: Mapping[str, MeasuredCase], workloads: Collection[str]) -> dict[str, str]:
    """Why each case may not become an entry ("" where it may), judged on the backend that actually ran."""
    return {
        case_id: baseline_refusal(
            case.result.key,
            case.backend,
            case.result.outcome,
            case.result.reason,
            case.result.clocks.suspect,
            workloads,
        )
        for case_id, case in measured.items()
    }


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
