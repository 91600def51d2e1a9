"""What every attention backend is to the rest of the suite: the Backend protocol and what activating one yields."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Protocol

import torch

# VGGT's head dim; each availability probe uses it, so a backend that rejects 64 says so up front.
PROBE_SHAPE = (1, 2, 32, 64)
# A backend's kernel_pattern meaning "no fused attention kernel may run" (perf.measure.kernel_proof): the math
# backend's gemm + softmax + gemm.
NO_FUSED_KERNEL = "<no fused attention kernel>"


@dataclass
class Activation:
    """What an activate() block spent besides attention: seconds compiling kernels (flex), 0 for the others."""

    compile_s: float = 0.0


class Backend(Protocol):
    """An attention backend: it takes every F.scaled_dot_product_attention call inside its activate() block."""

    @property
    def name(self) -> str: ...

    @property
    def summary(self) -> str: ...

    @property
    def distribution(self) -> str:
        """The PyPI distribution whose version the environment records."""
        ...

    @property
    def kernel_pattern(self) -> str | None:
        """re.search pattern every fused attention kernel it runs must match; NO_FUSED_KERNEL; None: any."""
        ...

    def version(self) -> str:
        """The installed version of its distribution, "" when it is not installed."""
        ...

    def unavailable_reason(self, device: torch.device, dtype: str) -> str | None:
        """None when it runs here in dtype, else why not, in one line."""
        ...

    def activate(self) -> contextlib.AbstractContextManager[Activation]:
        """Route attention to this backend for the block; the previous routing comes back on exit, even on error."""
        ...
