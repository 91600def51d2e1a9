"""What a workload is prepared with (the device, the session's models) and what preparing yields."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn

from perf.core.results import CaseKey

Outputs = torch.Tensor | Sequence[torch.Tensor]


class ModelCache(Protocol):
    """The session's models (perf.workloads.vggt.VggtModels): built once, one variant resident on the device."""

    def resident(self, variant: str) -> nn.Module:
        """The variant ('aggregator' or 'model') on the device, the previous one released."""
        ...

    def release(self) -> None:
        """Nothing of the models left on the device, so the next case's peak memory is its own."""
        ...

    def remember_reference(self, key: CaseKey, compute: Callable[[], Outputs]) -> Outputs:
        """The reference output of this workload and input: computed on first use, kept for the next backend."""
        ...


@dataclass(frozen=True)
class Runtime:
    """What a workload is prepared with: the device and the session's models."""

    device: torch.device
    models: ModelCache


@dataclass(frozen=True)
class Reference:
    """How a case's output is checked before its timings count.

    `expected` computes the reference outside the backend under test; `select` picks from one forward's output
    the part compared with it (raising ValueError for an output of the wrong shape); their relative error must
    stay within `tolerance` (see perf.workloads.correctness).
    """

    expected: Callable[[], Outputs]
    select: Callable[[object], Outputs]
    tolerance: float
    computed_by: str | None = None  # the backend whose own output the reference is: its cases are not checked


@dataclass(frozen=True)
class Prepared:
    """A case ready to time: a forward callable with its inputs bound, the precision it computes in, its check."""

    forward: Callable[[], object]
    dtype: str
    reference: Reference | None = None
