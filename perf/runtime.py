"""What a workload is prepared with (the device, the session's models) and what preparing yields."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from perf.model import VggtModels


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    models: VggtModels


Outputs = torch.Tensor | Sequence[torch.Tensor]


@dataclass(frozen=True)
class Reference:
    """How a case's output is checked before its timings count.

    `expected` computes the reference outside the backend under test; `select` picks from one forward's output
    the part compared with it (raising ValueError for an output of the wrong shape); their relative error must
    stay within `tolerance` (see perf.correctness).
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
