"""pytest-xdist: the suite's cases are never distributed; the unit tests may be.

Cases on one GPU in parallel would time each other, pytest-benchmark turns its timing off under xdist, and each
worker would keep its own verdicts: a distributed session would end green with every case skipped and no table.
So the controller refuses, in one line, a session whose workers collected cases that would run. It learns that
from the collected ids, as workers report them; a worker itself checks nothing, since its errors reach the
controller as tracebacks.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence

import pytest

DISTRIBUTED_CASES = (
    "vggt-perf: the suite's cases cannot run under pytest-xdist (-n, --dist): cases on one GPU would time each "
    "other and pytest-benchmark turns timing off under xdist; run one session per GPU "
    "(CUDA_VISIBLE_DEVICES=0 pytest --benchmark-only ..., CUDA_VISIBLE_DEVICES=1 ...), or add --benchmark-skip "
    "to distribute only the other tests"
)


def is_xdist_worker() -> bool:
    """Whether this process is a pytest-xdist worker (xdist sets the variable in each one)."""
    return bool(os.environ.get("PYTEST_XDIST_WORKER"))


def refuse_distributed_cases(collected_ids: Sequence[str], case_ids: Collection[str], cases_skipped: bool) -> None:
    """A worker collected at least one of the suite's cases (test ids end in [<case id>]) that would run."""
    if cases_skipped:
        return
    if any(node_id.endswith("]") and node_id.rpartition("[")[2][:-1] in case_ids for node_id in collected_ids):
        raise pytest.UsageError(DISTRIBUTED_CASES)
