"""The workload registry: each catalogued workload (perf.core.catalog) with the code that prepares its forward."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from perf.core.catalog import AGGREGATOR, ATTENTION, MODEL, WorkloadInfo
from perf.core.results import CaseKey
from perf.core.tolerance import Regime
from perf.workloads.attention import prepare_attention
from perf.workloads.runtime import Prepared, Runtime
from perf.workloads.vggt import prepare_aggregator, prepare_model


@dataclass(frozen=True)
class Workload:
    """A workload: what it is (info) and how a case of it is made ready to time (prepare)."""

    info: WorkloadInfo
    prepare: Callable[[CaseKey, Runtime], Prepared]

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def needs_vggt(self) -> bool:
        return self.info.needs_vggt

    @property
    def needs_cuda(self) -> bool:
        return self.info.needs_cuda

    @property
    def regimes(self) -> tuple[Regime, ...]:
        return self.info.regimes


WORKLOADS: Mapping[str, Workload] = {
    w.name: w
    for w in (
        Workload(AGGREGATOR, prepare_aggregator),
        Workload(MODEL, prepare_model),
        Workload(ATTENTION, prepare_attention),
    )
}
