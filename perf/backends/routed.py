"""Kernel libraries outside PyTorch's SDPA (FlashAttention 2, 3, 4, compiled FlexAttention) as backends: what each
takes, whether it runs here, and its activate(), which routes every F.scaled_dot_product_attention call to it
(perf.backends.routing), so a model that calls it (VGGT does) runs on them unchanged."""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional

from perf.backends.protocol import PROBE_SHAPE, Activation
from perf.backends.routing import AttentionKernel, HeadDims, Layout, routed_to
from perf.hardware.device import DTYPES

# Probe output against float32 attention: bf16 rounding stays below 1e-2, a layout or scale mistake is O(0.1..1).
_PROBE_TOLERANCE = 2e-2
# The head dims FlashAttention 2 and 3 take (flash_api.cpp): the default of a routed backend.
FLASH_HEAD_DIMS = HeadDims(8, 256, 8)


@dataclass(frozen=True)
class Architectures:
    """The CUDA compute capability majors a kernel runs on, `lowest` to `highest` (None: every newer one too)."""

    lowest: int
    highest: int | None

    def accepts(self, major: int) -> bool:
        return self.lowest <= major and (self.highest is None or major <= self.highest)

    def __str__(self) -> str:
        if self.highest is None:
            return f"{self.lowest}.0 or newer"
        return f"{self.lowest}.x" if self.lowest == self.highest else f"{self.lowest}.x to {self.highest}.x"


@dataclass(frozen=True)
class RoutedBackend:
    """A kernel library that takes every F.scaled_dot_product_attention call inside activate().

    `load` resolves the kernel only when needed (importing this module imports no kernel library) and is what
    tests replace. `compiler`, when set, compiles the kernel once per input shape on its first call.
    """

    name: str
    summary: str
    distribution: str  # the PyPI distribution whose version the environment records
    kernel_pattern: str  # re.search pattern matching this backend's CUDA kernel names (profiler proof)
    load: Callable[[], AttentionKernel]
    install_hint: str
    architectures: Architectures | None  # None: any GPU the kernel's compiler targets
    head_dims: HeadDims | None = FLASH_HEAD_DIMS  # None: any head dim SDPA takes
    # FlashAttention's conventions are the defaults.
    layout: Layout = Layout.TOKENS_FIRST
    scale_keyword: str = "softmax_scale"  # the kernel's name for SDPA's `scale`
    dtypes: frozenset[str] = frozenset({"bf16", "fp16"})  # perf.hardware.device.DTYPES names it computes in
    compiler: Callable[[AttentionKernel], AttentionKernel] | None = None
    device_types: frozenset[str] = frozenset({"cuda"})

    def version(self) -> str:
        """The installed version of `distribution`, "" when it is not installed."""
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return ""

    def unavailable_reason(self, device: torch.device, dtype: str) -> str | None:
        """None when a tiny VGGT-shaped call runs here and agrees with float32 attention, else why not, in one line."""
        return self._static_reason(device, dtype) or _probe(self, device, dtype)

    def activate(self) -> contextlib.AbstractContextManager[Activation]:
        """Route F.scaled_dot_product_attention to this kernel for the block (perf.backends.routing)."""
        return routed_to(self, self.load())

    def _static_reason(self, device: torch.device, dtype: str) -> str | None:
        """Why not, from the installation, the device and the dtype, without running anything."""
        if reason := self._import_failure():
            return reason
        if device.type not in self.device_types:
            return f"{self.name} runs on {'/'.join(sorted(self.device_types))} only, this run is on {device.type}"
        if dtype not in self.dtypes:
            return f"{self.name} computes in {' or '.join(sorted(self.dtypes))} only, this run is {dtype}"
        if self.head_dims and not self.head_dims.accepts(PROBE_SHAPE[-1]):
            return f"{self.name} takes head dims {self.head_dims}, VGGT's is {PROBE_SHAPE[-1]}"
        return self._architecture_mismatch(device)

    def _import_failure(self) -> str | None:
        try:
            self.load()
        except ImportError as error:
            # flash-attn-4 alone leaves a flash_attn namespace without flash_attn_func: fa2 is then not installed.
            if isinstance(error, ModuleNotFoundError) or not self.version():
                return f"{self.name} is not installed ({_first_line(error)}); {self.install_hint}"
            return f"{self.name} is installed but does not import ({_first_line(error)}); {self.install_hint}"
        except Exception as error:  # a build for another torch or CUDA fails in many ways; each means unusable
            return f"{self.name} is installed but does not import ({_first_line(error)}); {self.install_hint}"
        return None

    def _architecture_mismatch(self, device: torch.device) -> str | None:
        if self.architectures is None or device.type != "cuda":
            return None
        major, minor = torch.cuda.get_device_capability(device)
        if self.architectures.accepts(major):
            return None
        gpu = torch.cuda.get_device_name(device)
        return f"{self.name} needs compute capability {self.architectures}, this GPU ({gpu}) is {major}.{minor}"


def _first_line(error: BaseException) -> str:
    lines = str(error).splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


@functools.cache
def _probe(backend: RoutedBackend, device: torch.device, dtype: str) -> str | None:
    """Run one small call through activate() and compare it with float32 attention: proves the kernel runs on this
    device and that the routing (layout, scale, casts) is right. Cached: a flex probe compiles."""
    q, k, v = (torch.randn(PROBE_SHAPE, device=device, dtype=DTYPES[dtype]) for _ in "qkv")
    try:
        with backend.activate():
            output = torch.nn.functional.scaled_dot_product_attention(q, k, v)
        error = (output.float() - _float32_attention(q, k, v)).abs().max().item()
    except Exception as failure:  # a kernel library fails in its own ways (assertions, CUDA errors); any is a no
        return f"{backend.name} cannot run {dtype} on {device}: {_first_line(failure)}"
    if not error <= _PROBE_TOLERANCE:  # NaN too
        return f"{backend.name} computes wrong {dtype} attention on {device}: max abs error {error:.3g} vs float32"
    return None


def _float32_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(q kᵀ / √D) v in float32, written out: independent of whatever SDPA is routed to."""
    q, k, v = q.float(), k.float(), v.float()
    return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1) @ v
