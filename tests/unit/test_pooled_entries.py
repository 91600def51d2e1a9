"""Entries pooled from several processes: the pooled timing, the update's pooling of files, and the file format."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from perf.core.baselines import Baseline, RunInfo
from perf.core.catalog import workload_regimes
from perf.core.conversion import BenchmarkFile, BenchmarkJsonError, SuiteBenchmark, convert_runs
from perf.core.results import CaseKey, Evidence, Memory, Outcome, Resolution
from perf.core.stats import pooled_timing, summarize_rounds
from perf.core.tolerance import time_tolerance_for
from perf.storage.baseline_codec import from_json, to_json

KEY = CaseKey("vggt-aggregator", "sdpa-default", 100, Resolution(350, 518))
OTHER = CaseKey("vggt-aggregator", "sdpa-default", 20, Resolution(350, 518))


def rounds(median: float, n: int = 3) -> object:
    return summarize_rounds([median * (1 + 0.001 * (i - n // 2)) for i in range(n)])


def benchmark(key: CaseKey, median: float, outcome: Outcome = Outcome.OK) -> SuiteBenchmark:
    timing = rounds(median) if outcome is Outcome.OK else None
    memory = Memory(21, 22) if outcome is Outcome.OK else None
    return SuiteBenchmark(key, key.backend, "nvidia-h200", outcome, "", "bf16", timing, memory, Evidence())  # type: ignore[arg-type]


def file(name: str, *benchmarks: SuiteBenchmark, torch: str = "2.11.0") -> BenchmarkFile:
    return BenchmarkFile(Path(name), f"2026-12-02T17:0{name[-6]}:00+00:00", {"torch": torch}, "H200", benchmarks, ())


def test_the_pooled_median_is_the_median_of_the_processes_medians_and_every_round_is_kept() -> None:
    timings = [rounds(2.96, 3), rounds(2.98, 3), rounds(3.10, 9)]
    pooled = pooled_timing(timings)  # type: ignore[arg-type]
    assert pooled.median_s == 2.98  # not the median of all 15 rounds, which the 9-round process would set
    assert pooled.rounds == 15 and len(pooled.samples_s) == 15
    assert pooled.min_s == min(t.min_s for t in timings) and pooled.max_s == max(t.max_s for t in timings)  # type: ignore[attr-defined]


def test_an_update_pools_each_case_found_in_enough_runs_and_names_the_others() -> None:
    files = [
        file("run-1.json", benchmark(KEY, 2.96), benchmark(OTHER, 0.29)),
        file("run-2.json", benchmark(KEY, 2.98), benchmark(OTHER, 0.29, Outcome.OOM)),
        file("run-3.json", benchmark(KEY, 2.97)),
    ]
    conversion = convert_runs(files, "update", workload_regimes(), 0.02, 0.02, min_runs=3)
    (entry,) = conversion.entries
    assert entry.key == KEY and entry.process_medians_s == pytest.approx((2.96, 2.98, 2.97))
    assert entry.timing.median_s == pytest.approx(2.97) and entry.timing.rounds == 9
    assert entry.time_tolerance == time_tolerance_for(
        entry.timing, workload_regimes()[KEY.workload], 0.02, entry.process_medians_s
    )
    assert [(s.case_id, s.reason.split(" (")[0]) for s in conversion.skipped] == [
        (OTHER.case_id, "admitted in 1 of 3 runs, fewer than --min-runs 3")
    ]
    assert conversion.run.measured_at == files[0].measured_at
    assert len(convert_runs(files, "update", workload_regimes(), 0.02, 0.02, min_runs=1).entries) == 2


def test_runs_of_different_environments_are_not_pooled() -> None:
    files = [file("run-1.json", benchmark(KEY, 2.96)), file("run-2.json", benchmark(KEY, 2.96), torch="2.12.0")]
    with pytest.raises(BenchmarkJsonError, match=r"different environments \(fields torch differ"):
        convert_runs(files, "update", workload_regimes(), 0.02, 0.02, min_runs=2)


def test_process_medians_survive_the_file_and_one_median_reads_as_an_entry_of_one_process() -> None:
    conversion = convert_runs(
        [file(f"run-{i}.json", benchmark(KEY, 2.96 + i / 100)) for i in (1, 2, 3)],
        "update",
        workload_regimes(),
        0.02,
        0.02,
    )
    (entry,) = conversion.entries
    entry = replace(entry, run="r1")
    baseline = Baseline({"name": "H200", "slug": "nvidia-h200"}, {"r1": conversion.run}, {KEY.case_id: entry})
    document = to_json(baseline)
    assert from_json(document, Path("b.json")).entries[KEY.case_id] == entry
    document["entries"][KEY.case_id]["process_medians_s"] = [2.97]
    assert from_json(document, Path("b.json")).entries[KEY.case_id].process_medians_s == ()
    assert isinstance(conversion.run, RunInfo)
