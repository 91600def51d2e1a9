"""The cross-process replay (perf.tools.process_trials): pooled baselines, gate runs and confirmation with the next
process, on hand-made timings (no clock)."""

from __future__ import annotations

from perf.core.results import VerdictKind
from perf.core.stats import summarize_rounds
from perf.tools.process_trials import Process, baseline_entries, gate_runs

CASE = "vggt-aggregator-sdpa-default-100f-350x518"  # one second and more: held to the least tolerance


def process(name: str, median: float, slowed: float | None = None) -> Process:
    def rounds(m: float) -> object:
        return summarize_rounds([m * (1 + 0.0005 * (i % 3 - 1)) for i in range(9)])

    timings = {(CASE, 0.0): rounds(median)}
    if slowed is not None:
        timings[(CASE, 0.03)] = rounds(slowed)
    return Process(name, timings)  # type: ignore[arg-type]


def test_the_baseline_pools_its_processes_and_their_spread_widens_the_tolerance() -> None:
    tight = baseline_entries([process("a", 3.0), process("b", 3.003), process("c", 2.997)], 0.02)[CASE]
    loose = baseline_entries([process("a", 3.0), process("b", 3.09), process("c", 2.91)], 0.02)[CASE]
    assert tight.process_medians_s == (3.0, 3.003, 2.997) and tight.timing.median_s == 3.0
    assert tight.timing.rounds == 27
    assert tight.time_tolerance == 0.02 < loose.time_tolerance


def test_one_slow_process_is_not_confirmed_by_the_next_but_a_real_slowdown_is() -> None:
    entries = baseline_entries([process("a", 3.0), process("b", 3.003), process("c", 2.997)], 0.02)
    runs = [process("d", 3.1, slowed=3.1), process("e", 3.0, slowed=3.1), process("f", 3.0, slowed=3.1)]
    judged = {(j.process, j.variant[1]): j for j in gate_runs(entries, runs)}
    outlier = judged[("d", 0.0)]
    assert (outlier.first, outlier.final) == (VerdictKind.REGRESSION, VerdictKind.PASS)
    assert outlier.rerun_ratio is not None and abs(outlier.rerun_ratio - 1) < 0.001  # e's measurement
    assert all(judged[(p, 0.03)].final is VerdictKind.REGRESSION for p in "def")
    assert judged[("e", 0.0)].first is VerdictKind.PASS and judged[("e", 0.0)].rerun_ratio is None
