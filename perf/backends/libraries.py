"""The attention libraries routed as backends: FlashAttention 2, 3 and 4 and compiled FlexAttention, as data.

How a call reaches them (layout, casts, compile cache, availability) is perf.backends.routed; importing this module
imports none of the libraries: each is loaded when its backend is first activated or probed.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable

import torch

from perf.backends.routed import Architectures, RoutedBackend
from perf.backends.routing import AttentionKernel, HeadDims, Layout
from perf.hardware.device import DTYPES


def compile_for_fixed_shapes(kernel: AttentionKernel) -> AttentionKernel:
    """torch.compile with dynamic=False: a kernel specialised to its first call's shapes, flex's fastest form."""
    return torch.compile(kernel, dynamic=False)


def _importer(module: str, attribute: str) -> Callable[[], AttentionKernel]:
    """A loader that runs `from module import attribute` when called."""
    return functools.partial(_import_attribute, module, attribute)


def _import_attribute(module: str, attribute: str) -> AttentionKernel:
    try:
        return getattr(importlib.import_module(module), attribute)  # type: ignore[no-any-return]
    except AttributeError:
        raise ImportError(f"cannot import name {attribute!r} from {module!r}") from None


FA2 = RoutedBackend(
    name="fa2",
    summary="FlashAttention 2 (flash-attn, flash_attn_func), Ampere or newer",
    distribution="flash-attn",
    # flash::flash_fwd_kernel<...> and its split-KV variants; not PyTorch's own build, pytorch_flash::flash_fwd_kernel
    kernel_pattern=r"\bflash::flash_fwd",
    load=_importer("flash_attn", "flash_attn_func"),
    install_hint="install with: pip install flash-attn --no-build-isolation",
    architectures=Architectures(8, None),  # flash_api.cpp: "FlashAttention only supports Ampere GPUs or newer"
)
FA3 = RoutedBackend(
    name="fa3",
    summary="FlashAttention 3 Hopper build (flash_attn_interface.flash_attn_func), sm90; VGGT's published timings",
    distribution="flash-attn-3",  # hopper/setup.py's name since 2025-02; "flashattn-hopper" before
    # cutlass::device_kernel<flash::enable_sm90<flash::FlashAttnFwdSm90<...>>> and, for split KV, the
    # flash::FlashAttnFwdCombine<...> after it (hopper/flash_fwd_*launch_template.h); flash::compute_attn_ws before 2025
    kernel_pattern=r"\bflash::(FlashAttnFwd(Sm90|Combine)|compute_attn_ws)",
    load=_importer("flash_attn_interface", "flash_attn_func"),
    install_hint="build it: in github.com/Dao-AILab/flash-attention, cd hopper && pip install . (README: fa3)",
    architectures=Architectures(9, 9),
)
FA4 = RoutedBackend(
    name="fa4",
    summary="FlashAttention 4 in CuTe DSL (flash-attn-4, flash_attn.cute), Hopper and Blackwell; JIT on first call",
    distribution="flash-attn-4",
    # CuTe DSL names a kernel after its class (flash_attn/cute/flash_fwd*.py), e.g.
    # kernel_cutlass_kernel_flash_attncuteflash_fwd_sm100FlashAttentionForwardSm100_object_at__...; split KV adds
    # FlashAttentionForwardCombine
    kernel_pattern=r"FlashAttentionForward(Sm90|Sm100|Combine)",
    load=_importer("flash_attn.cute", "flash_attn_func"),
    # flash-attn 2.8 ships an older flash_attn/cute of its own; installed after flash-attn-4 it replaces FA4's
    install_hint="install with: pip install flash-attn-4 (after flash-attn, whose flash_attn/cute it replaces)",
    architectures=Architectures(9, 11),  # its README: "for Hopper and Blackwell GPUs"
    head_dims=HeadDims(8, 128, 8),  # what Hopper and Blackwell both take (interface.py _validate_head_dims)
)
FLEX = RoutedBackend(
    name="flex",
    summary="PyTorch FlexAttention compiled once per shape (torch.compile, dynamic=False); compile time apart",
    distribution="torch",
    kernel_pattern=r"flex_attention",  # Inductor's Triton template: triton_tem_fused__to_copy_flex_attention_..._2
    load=_importer("torch.nn.attention.flex_attention", "flex_attention"),
    install_hint="needs torch 2.5 or newer",
    architectures=None,
    head_dims=None,
    layout=Layout.HEADS_FIRST,
    scale_keyword="scale",
    dtypes=frozenset(DTYPES),
    compiler=compile_for_fixed_shapes,
)

ROUTED_BACKENDS: tuple[RoutedBackend, ...] = (FA2, FA3, FA4, FLEX)
