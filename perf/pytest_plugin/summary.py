"""The end of the session: the environment drift, the verdict table and counts, the update's notes, and with
--github-summary the same verdicts as markdown plus an annotation per failing case."""

from __future__ import annotations

from typing import Any

from perf.core.environment_diff import describe_drift
from perf.pytest_plugin.state import SuiteState
from perf.report.verdicts import github_annotations, render_markdown, render_verdict_table, summarize_counts

ENVIRONMENT_CHANGED = (
    "vggt-perf: the environment changed, not (only) the code: a regression or improvement below may be the "
    "environment's; re-record the baseline in this environment (update-baselines) to judge the code alone"
)


def write_summary(terminalreporter: Any, state: SuiteState) -> None:
    record = state.record
    if record.drift:
        terminalreporter.section("vggt-perf environment")
        for drift in record.drift:
            terminalreporter.write_line(f"vggt-perf: environment differs from the {describe_drift(drift)}")
        terminalreporter.write_line(ENVIRONMENT_CHANGED)
    if not record.verdicts:
        return
    terminalreporter.section("vggt-perf verdicts")
    for line in render_verdict_table(record.verdicts, record.results()):
        terminalreporter.write_line(line)
    if state.options.github_summary:
        write_github_summary(terminalreporter, state)
    terminalreporter.write_line(f"vggt-perf: {summarize_counts(record.verdicts)} ({state.baseline_path})")
    if not state.options.update_baselines:  # an update says it did not write them
        for measured in record.measured.values():
            if suspect := measured.result.clocks.suspect:
                terminalreporter.write_line(f"vggt-perf: suspect {measured.result.key.case_id}: {suspect}")
    for line in record.notes:
        terminalreporter.write_line(line)


def write_github_summary(terminalreporter: Any, state: SuiteState) -> None:
    """Append the verdicts as markdown to --github-summary's file; print an annotation per failing case."""
    path = state.options.github_summary
    assert path is not None
    verdicts = state.record.verdicts
    title = f"vggt-perf on {state.device['name']} against {state.baseline_path.name}"
    try:
        with path.open("a", encoding="utf-8") as summary:
            summary.write("\n".join(render_markdown(verdicts, title, state.record.results())) + "\n")
    except OSError as error:
        terminalreporter.write_line(f"vggt-perf: the summary was not written to {path}: {error.strerror}")
    for line in github_annotations(verdicts):
        terminalreporter.write_line(line)
