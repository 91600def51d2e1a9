"""extra_info is written and read in one module: what a live run records reads back as the same case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perf.core.conversion import SuiteBenchmark
from perf.core.results import CaseKey, CaseResult, Clocks, Evidence, Memory, Outcome, Resolution, Timing
from perf.storage.extra_info import from_extra_info, to_extra_info
from perf.storage.field_reader import FieldReader

KEY = CaseKey("vggt-aggregator", "sdpa-flash", 20, Resolution(350, 518))
TIMING = Timing(0.3, 0.01, 0.29, 0.33, 5, (0.3, 0.29, 0.31, 0.33, 0.3))
MEASURED = CaseResult(
    KEY,
    Outcome.OK,
    "bf16",
    TIMING,
    Memory(5 * 2**30, 6 * 2**30),
    evidence=Evidence("pytorch_flash::flash_fwd_kernel", 1.3e-2, 0.0),
    rounds_ended_by="precision",
    clocks=Clocks(samples=40, limited_samples=40, clock_deficit=0.05, reasons=("software thermal slowdown",)),
)


def read_back(result: CaseResult, measured_backend: str) -> SuiteBenchmark:
    extra = json.loads(json.dumps(to_extra_info(result, measured_backend, "nvidia-h100-80gb-hbm3")))  # as JSON
    return from_extra_info(FieldReader(Path("bench.json")), extra, "bench.extra_info", result.timing)


def test_a_measured_case_reads_back_with_every_field_a_baseline_needs() -> None:
    benchmark = read_back(MEASURED, "sdpa-math")
    assert benchmark == SuiteBenchmark(
        KEY,
        "sdpa-math",
        "nvidia-h100-80gb-hbm3",
        Outcome.OK,
        "",
        "bf16",
        TIMING,
        MEASURED.memory,
        MEASURED.evidence,
        MEASURED.clocks.suspect,
    )
    assert benchmark.suspect.startswith("GPU clock held down by software thermal slowdown")


@pytest.mark.parametrize("outcome", [Outcome.OOM, Outcome.SKIPPED, Outcome.WRONG])
def test_a_case_without_a_measurement_reads_back_without_one(outcome: Outcome) -> None:
    result = CaseResult(KEY, outcome, reason="CUDA out of memory at 20 frames 350x518 (80.0 GiB GPU)")
    benchmark = read_back(result, KEY.backend)
    assert (benchmark.outcome, benchmark.reason) == (outcome, result.reason)
    assert benchmark.timing is None and benchmark.memory is None and benchmark.evidence == Evidence()
