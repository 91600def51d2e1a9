"""The attention-backend registry: PyTorch's SDPA kernels and routed libraries (perf.kernels), each taking every
F.scaled_dot_product_attention call inside its activate() block."""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from perf.attention_libraries import ROUTED_BACKENDS
from perf.device import DTYPES
from perf.kernel_proof import SDPA_KERNEL_PATTERNS
from perf.kernels import Activation, RoutedBackend

# VGGT's head dim; the availability probe uses it so a backend that rejects 64 says so up front.
_PROBE_SHAPE = (1, 2, 32, 64)


@dataclass(frozen=True)
class SdpaBackend:
    """One of PyTorch's SDPA kernels forced with sdpa_kernel, or (kernel None) PyTorch's own choice."""

    name: str
    summary: str
    kernel: SDPBackend | None
    device_types: frozenset[str] = frozenset({"cpu", "cuda"})
    distribution: str = "torch"

    def version(self) -> str:
        return torch.__version__

    @property
    def kernel_pattern(self) -> str | None:
        """What its CUDA kernel is called (perf.kernel_proof); None for the default, which may pick any."""
        return SDPA_KERNEL_PATTERNS[self.name]

    @contextlib.contextmanager
    def activate(self) -> Iterator[Activation]:
        """Route SDPA to this kernel for the block; sdpa_kernel restores the previous choice on exit."""
        if self.kernel is None:
            yield Activation()
            return
        with sdpa_kernel(self.kernel):
            yield Activation()

    def unavailable_reason(self, device: torch.device, dtype: str) -> str | None:
        """None if a tiny VGGT-shaped call runs here, else the first reason PyTorch gives."""
        if device.type not in self.device_types:
            return f"{self.name} runs on {'/'.join(sorted(self.device_types))} only, this run is on {device.type}"
        return _probe(self, device.type, dtype)


@functools.cache
def _probe(backend: SdpaBackend, device_type: str, dtype: str) -> str | None:
    q = torch.randn(_PROBE_SHAPE, device=device_type, dtype=DTYPES[dtype])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with backend.activate():
                F.scaled_dot_product_attention(q, q, q)
        except RuntimeError as error:
            why = [str(w.message).splitlines()[0] for w in caught] or [str(error).splitlines()[0]]
            return f"{backend.name} cannot run {dtype} on {device_type}: {why[0]}"
    return None


SDPA_DEFAULT = SdpaBackend("sdpa-default", "PyTorch SDPA, its own kernel choice (what VGGT gets out of the box)", None)
SDPA_MATH = SdpaBackend(
    "sdpa-math", "PyTorch SDPA math: the unfused reference, materialises the attention matrix", SDPBackend.MATH
)
SDPA_EFFICIENT = SdpaBackend(
    "sdpa-efficient",
    "PyTorch SDPA memory-efficient (xFormers-derived) kernel",
    SDPBackend.EFFICIENT_ATTENTION,
    frozenset({"cuda"}),
)
SDPA_FLASH = SdpaBackend(
    "sdpa-flash", "PyTorch SDPA FlashAttention-2 kernel built into torch", SDPBackend.FLASH_ATTENTION
)
SDPA_CUDNN = SdpaBackend(
    "sdpa-cudnn", "PyTorch SDPA cuDNN fused attention", SDPBackend.CUDNN_ATTENTION, frozenset({"cuda"})
)

SDPA_BACKENDS = (SDPA_DEFAULT, SDPA_MATH, SDPA_EFFICIENT, SDPA_FLASH, SDPA_CUDNN)
BACKENDS: dict[str, SdpaBackend | RoutedBackend] = {b.name: b for b in (*SDPA_BACKENDS, *ROUTED_BACKENDS)}
