"""The benchmark matrix: one test per case of the selected profile (see `pytest --help`, vggt-perf)."""

from perf.core.results import CaseKey


def test_inference(perf_case: CaseKey, vggt_perf, benchmark) -> None:
    vggt_perf(perf_case, benchmark)
