"""The benchmark matrix: one test per case of the selected profile (see `pytest --help`, vggt-perf)."""

from collections.abc import Callable
from typing import Any

from perf.core.results import CaseKey


def test_inference(perf_case: CaseKey, vggt_perf: Callable[[CaseKey, Any], None], benchmark: Any) -> None:
    vggt_perf(perf_case, benchmark)
