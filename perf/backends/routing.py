"""The routing shim: F.scaled_dot_product_attention replaced, for a block, by a call into another kernel library,
with the layout, dtype and compile cache that library needs."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

import torch
import torch.nn.functional

from perf.backends.protocol import Activation
from perf.hardware.device import DTYPES

AttentionKernel = Callable[..., Any]
"""A kernel as its library exports it: (q, k, v, <scale keyword>=None) -> output, or a tuple that starts with it."""

# Dynamo keeps 8 compiled variants of a function, then runs it eagerly without an error (torch/_dynamo/config.py,
# recompile_limit); compiled flex has one variant per shape and the full profile has dozens of shapes.
_RECOMPILE_LIMIT = 1024
# What perf.measure.case turns into a skip: the words PyTorch uses when a forced SDPA kernel cannot take a call.
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


class Route(Protocol):
    """What the shim needs to know of a kernel library (perf.backends.routed.RoutedBackend is one)."""

    @property
    def name(self) -> str: ...

    @property
    def layout(self) -> Layout: ...

    @property
    def scale_keyword(self) -> str: ...

    @property
    def dtypes(self) -> frozenset[str]: ...

    @property
    def head_dims(self) -> HeadDims | None: ...

    @property
    def compiler(self) -> Callable[[AttentionKernel], AttentionKernel] | None: ...


@contextlib.contextmanager
def routed_to(route: Route, kernel: AttentionKernel) -> Iterator[Activation]:
    """F.scaled_dot_product_attention calls go to kernel inside the block; the previous function comes back on
    exit, even on error, so routings nest."""
    activation = Activation()

    def scaled_dot_product_attention_routed(*args: Any, **kwargs: Any) -> torch.Tensor:
        # A named function, not a functools.partial: torch.compile reads __name__ of what it finds in
        # torch.nn.functional while it traces a compiled kernel (flex), and a partial has none.
        return _route(route, kernel, activation, *args, **kwargs)

    compiling = _recompiles_allowed() if route.compiler else contextlib.nullcontext()
    with compiling, _sdpa_replaced_by(scaled_dot_product_attention_routed):
        yield activation


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
    backend: Route,
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


def _unsupported_shape(backend: Route, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> str | None:
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
    backend: Route,
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
    backend: Route,
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
