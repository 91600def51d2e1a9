"""Attention kernels outside PyTorch's SDPA (FlashAttention 2, 3, 4, compiled FlexAttention), routed from every
F.scaled_dot_product_attention call so a model that calls it (VGGT does) runs on them unchanged."""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.metadata
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

import torch
import torch.nn.functional

from perf.device import DTYPES

AttentionKernel = Callable[..., Any]
"""A kernel as its library exports it: (q, k, v, <scale keyword>=None) -> output, or a tuple that starts with it."""

# VGGT's head dim; the probe uses it so a backend that rejects 64 says so up front (as perf.backends' probe does).
_PROBE_SHAPE = (1, 2, 32, 64)
# Probe output against float32 attention: bf16 rounding stays below 1e-2, a layout or scale mistake is O(0.1..1).
_PROBE_TOLERANCE = 2e-2
# Dynamo keeps 8 compiled variants of a function, then runs it eagerly without an error (torch/_dynamo/config.py,
# recompile_limit); compiled flex has one variant per shape and the full profile has dozens of shapes.
_RECOMPILE_LIMIT = 1024
# What perf.measure turns into a skip: the words PyTorch uses when a forced SDPA kernel cannot take a call.
_NO_KERNEL = "No available kernel"
# Compiled kernels by _compile_key, kept for the process: a shape compiles once however many cases use it.
_COMPILED: dict[tuple[object, ...], AttentionKernel] = {}


class Layout(Enum):
    """The order of q, k, v and output dimensions a kernel takes."""

    HEADS_FIRST = "[B, H, N, D]"  # SDPA's, and flex_attention's
    TOKENS_FIRST = "[B, N, H, D]"  # FlashAttention's


@dataclass(frozen=True)
class HeadDims:
    """The head dims a kernel takes: multiples of `multiple_of` from `smallest` to `largest`."""

    smallest: int
    largest: int
    multiple_of: int

    def accepts(self, head_dim: int) -> bool:
        return self.smallest <= head_dim <= self.largest and head_dim % self.multiple_of == 0

    def __str__(self) -> str:
        return f"{self.smallest}..{self.largest} in multiples of {self.multiple_of}"


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


@dataclass
class Activation:
    """What an activate() block spent besides attention: seconds compiling kernels (flex), 0 for the others."""

    compile_s: float = 0.0


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
    head_dims: HeadDims | None = HeadDims(8, 256, 8)  # None: any head dim SDPA takes
    # FlashAttention's conventions are the defaults.
    layout: Layout = Layout.TOKENS_FIRST
    scale_keyword: str = "softmax_scale"  # the kernel's name for SDPA's `scale`
    dtypes: frozenset[str] = frozenset({"bf16", "fp16"})  # perf.device.DTYPES names it computes in
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

    @contextlib.contextmanager
    def activate(self) -> Iterator[Activation]:
        """Route F.scaled_dot_product_attention to this kernel for the block; the previous function comes back on
        exit, even on error, so activations nest."""
        activation = Activation()
        kernel = self.load()

        def scaled_dot_product_attention_routed(*args: Any, **kwargs: Any) -> torch.Tensor:
            # A named function, not a functools.partial: torch.compile reads __name__ of what it finds in
            # torch.nn.functional while it traces a compiled kernel (flex), and a partial has none.
            return _route(self, kernel, activation, *args, **kwargs)

        compiling = _recompiles_allowed() if self.compiler else contextlib.nullcontext()
        with compiling, _sdpa_replaced_by(scaled_dot_product_attention_routed):
            yield activation

    def _static_reason(self, device: torch.device, dtype: str) -> str | None:
        """Why not, from the installation, the device and the dtype, without running anything."""
        if reason := self._import_failure():
            return reason
        if device.type not in self.device_types:
            return f"{self.name} runs on {'/'.join(sorted(self.device_types))} only, this run is on {device.type}"
        if dtype not in self.dtypes:
            return f"{self.name} computes in {' or '.join(sorted(self.dtypes))} only, this run is {dtype}"
        if self.head_dims and not self.head_dims.accepts(_PROBE_SHAPE[-1]):
            return f"{self.name} takes head dims {self.head_dims}, VGGT's is {_PROBE_SHAPE[-1]}"
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
    q, k, v = (torch.randn(_PROBE_SHAPE, device=device, dtype=DTYPES[dtype]) for _ in "qkv")
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


@contextlib.contextmanager
def _sdpa_replaced_by(route: Callable[..., torch.Tensor]) -> Iterator[None]:
    """F.scaled_dot_product_attention is `route` inside the block; whatever it was before comes back after."""
    previous = torch.nn.functional.scaled_dot_product_attention
    torch.nn.functional.scaled_dot_product_attention = route
    try:
        yield
    finally:
        torch.nn.functional.scaled_dot_product_attention = previous


def _recompiles_allowed() -> contextlib.AbstractContextManager[object]:
    """Dynamo's recompile limits raised for the block, so compiled kernels never fall back to eager for lack of
    variants. cache_size_limit is the name torch 2.5 knows; newer releases alias it to recompile_limit."""
    import torch._dynamo  # only a compiling backend pays for importing the compiler

    return torch._dynamo.config.patch(  # type: ignore[no-any-return]
        cache_size_limit=_RECOMPILE_LIMIT, accumulated_cache_size_limit=_RECOMPILE_LIMIT
    )


def _route(
    backend: RoutedBackend,
    kernel: AttentionKernel,
    activation: Activation,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attn_mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> torch.Tensor:
    """F.scaled_dot_product_attention on the backend's kernel. A call the kernel cannot take raises the
    RuntimeError PyTorch raises for a forced SDPA kernel ("No available kernel ..."), so the case is skipped."""
    refusal = _unsupported_option(attn_mask, dropout_p, is_causal, enable_gqa) or _unsupported_shape(
        backend, query, key, value
    )
    if refusal:
        raise RuntimeError(f"{_NO_KERNEL}: {backend.name} does not take {refusal}")
    qkv = _in_compute_dtype(query, key, value)
    if (dtype := qkv[0].dtype) not in {DTYPES[name] for name in backend.dtypes}:
        only = " or ".join(sorted(backend.dtypes))
        raise RuntimeError(f"{_NO_KERNEL}: {backend.name} computes in {only} only, this call is {dtype}")
    return _attend(backend, kernel, activation, qkv, scale)


def _unsupported_option(attn_mask: object, dropout_p: float, is_causal: bool, enable_gqa: bool) -> str | None:
    """The SDPA options none of these kernels is routed with: VGGT uses none of them."""
    if attn_mask is not None:
        return "an attn_mask"
    if is_causal:
        return "is_causal=True"
    if dropout_p != 0.0:
        return f"dropout_p={dropout_p}"
    return "enable_gqa=True" if enable_gqa else None


def _unsupported_shape(backend: RoutedBackend, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> str | None:
    """[B, H, N, D] for q, k and v with one batch, head count and head dim (what all four kernels share)."""
    shapes = [tuple(t.shape) for t in (q, k, v)]
    four_dims = all(len(shape) == 4 for shape in shapes)
    if not four_dims or len({(s[0], s[1], s[3]) for s in shapes}) != 1 or k.shape != v.shape:
        return f"q, k, v shaped {shapes} (needs [B, H, N, D] with one B, H and D)"
    if backend.head_dims and not backend.head_dims.accepts(q.shape[-1]):
        return f"head dim {q.shape[-1]} (takes {backend.head_dims})"
    return None


def _in_compute_dtype(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """q, k, v in one dtype: autocast's when it is on, as SDPA's autocast rule casts; else v's where they differ.
    VGGT's RoPE hands float32 q and k with a bf16 v, and FlashAttention asserts that all three match."""
    device_type = q.device.type
    dtype = torch.get_autocast_dtype(device_type) if torch.is_autocast_enabled(device_type) else v.dtype
    return tuple(t if t.dtype == dtype else t.to(dtype) for t in (q, k, v))


def _attend(
    backend: RoutedBackend,
    kernel: AttentionKernel,
    activation: Activation,
    qkv: tuple[torch.Tensor, ...],
    scale: float | None,
) -> torch.Tensor:
    """The kernel's output for [B, H, N, D] inputs, as [B, H, N, D]: other layouts go in and out as transposed
    views, not copies (FlashAttention takes any strides whose last one is 1)."""
    tokens_first = backend.layout is Layout.TOKENS_FIRST
    if tokens_first:
        qkv = tuple(_unit_last_stride(t.transpose(1, 2)) for t in qkv)
    output = _call(backend, kernel, activation, qkv, {backend.scale_keyword: scale})
    if isinstance(output, tuple):  # (out, lse): FA3 and FA4 return both in some versions
        output = output[0]
    return output.transpose(1, 2) if tokens_first else output  # type: ignore[no-any-return]


def _unit_last_stride(tensor: torch.Tensor) -> torch.Tensor:
    return tensor if tensor.stride(-1) == 1 else tensor.contiguous()


def _call(
    backend: RoutedBackend,
    kernel: AttentionKernel,
    activation: Activation,
    qkv: tuple[torch.Tensor, ...],
    options: dict[str, Any],
) -> Any:
    """The kernel, or its compiled variant for these inputs, compiled on first use and timed into activation."""
    if backend.compiler is None:
        return kernel(*qkv, **options)
    key = _compile_key(backend.compiler, kernel, qkv, options)
    if (compiled := _COMPILED.get(key)) is not None:
        return compiled(*qkv, **options)
    started = time.perf_counter()
    compiled = backend.compiler(kernel)
    output = compiled(*qkv, **options)  # torch.compile compiles on the first call, so it is timed too
    activation.compile_s += time.perf_counter() - started
    _COMPILED[key] = compiled
    return output


def _compile_key(
    compiler: object, kernel: AttentionKernel, qkv: tuple[torch.Tensor, ...], options: dict[str, Any]
) -> tuple[object, ...]:
    """(shape, dtype, device) and the rest that dynamo guards on with dynamic=False (strides, inference tensors,
    grad, inference and autocast modes): a call whose key is cached does not recompile, so compile_s is complete."""
    tensors = tuple((t.shape, t.stride(), t.dtype, t.device, t.is_inference(), t.requires_grad) for t in qkv)
    device_type = qkv[0].device.type
    modes = (torch.is_grad_enabled(), torch.is_inference_mode_enabled(), torch.is_autocast_enabled(device_type))
    return (compiler, kernel, tensors, tuple(options.items()), modes)
