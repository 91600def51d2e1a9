"""PyTorch's own SDPA kernels as backends, each forced with torch.nn.attention.sdpa_kernel inside activate()."""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from perf.backends.protocol import NO_FUSED_KERNEL, PROBE_SHAPE, Activation
from perf.hardware.device import DTYPES


@dataclass(frozen=True)
class SdpaBackend:
    """One of PyTorch's SDPA kernels forced with sdpa_kernel, or (kernel None) PyTorch's own choice."""

    name: str
    summary: str
    kernel: SDPBackend | None
    # What its CUDA kernel is called (perf.measure.kernel_proof), calibrated on an H100 with torch 2.11 at VGGT's
    # shapes (docs/measurements/2026-11-26-h100/kernels-*.json); None for the default, which may pick any.
    kernel_pattern: str | None
    device_types: frozenset[str] = frozenset({"cpu", "cuda"})
    distribution: str = "torch"

    def version(self) -> str:
        return torch.__version__

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
    q = torch.randn(PROBE_SHAPE, device=device_type, dtype=DTYPES[dtype])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with backend.activate():
                F.scaled_dot_product_attention(q, q, q)
        except RuntimeError as error:
            why = [str(w.message).splitlines()[0] for w in caught] or [str(error).splitlines()[0]]
            return f"{backend.name} cannot run {dtype} on {device_type}: {why[0]}"
    return None


# sdpa-default records whatever PyTorch picks (cuDNN on the H100), so it expects no kernel in particular.
SDPA_DEFAULT = SdpaBackend(
    "sdpa-default", "PyTorch SDPA, its own kernel choice (what VGGT gets out of the box)", None, None
)
SDPA_MATH = SdpaBackend(
    "sdpa-math",
    "PyTorch SDPA math: the unfused reference, materialises the attention matrix",
    SDPBackend.MATH,
    NO_FUSED_KERNEL,
)
SDPA_EFFICIENT = SdpaBackend(
    "sdpa-efficient",
    "PyTorch SDPA memory-efficient (xFormers-derived) kernel",
    SDPBackend.EFFICIENT_ATTENTION,
    r"fmha_cutlass|MemEffAttention",
    frozenset({"cuda"}),
)
SDPA_FLASH = SdpaBackend(
    "sdpa-flash",
    "PyTorch SDPA FlashAttention-2 kernel built into torch",
    SDPBackend.FLASH_ATTENTION,
    r"pytorch_flash::flash_fwd",
)
SDPA_CUDNN = SdpaBackend(
    "sdpa-cudnn",
    "PyTorch SDPA cuDNN fused attention",
    SDPBackend.CUDNN_ATTENTION,
    r"cudnn.*sdpa|sdpa.*cudnn",
    frozenset({"cuda"}),
)

SDPA_BACKENDS = (SDPA_DEFAULT, SDPA_MATH, SDPA_EFFICIENT, SDPA_FLASH, SDPA_CUDNN)
