"""What a workload is prepared with (the device, the session's models) and what preparing yields."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from perf.model import VggtModels


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    models: VggtModels


@dataclass(frozen=True)
class Prepared:
    """A case ready to time: a forward callable with its inputs bound, and the precision it computes in."""

    forward: Callable[[], object]
    dtype: str
