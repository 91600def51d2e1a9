"""Proof from the profiler that a backend ran the fused attention kernel its name promises, not a fallback."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import torch
from torch.profiler import DeviceType, ProfilerActivity, profile

from perf.backends.protocol import NO_FUSED_KERNEL
from perf.hardware.device import synchronize

# Names of fused attention kernels, calibrated on an H100 with torch 2.11 at VGGT's shapes
# (docs/measurements/2026-11-26-h100/kernels-*.json), one alternative per kernel family:
#   sdpa            cuDNN: cudnn_generated_fort_native_sdpa_sm90_flash_fprop_wgmma_f16_knob_7_...
#   fmha            PyTorch memory-efficient (xFormers/CUTLASS): fmha_cutlassF_bf16_aligned_64x64_rf_sm80(...)
#   flash_fwd/bwd   FlashAttention 2 in PyTorch (void pytorch_flash::flash_fwd_kernel<...>) and flash-attn's own
#   flash_?att...   FlashAttention 3 (flash::FlashAttnFwdSm90<...>), CuTe-DSL (FlashAttentionForwardSm90...)
#   flex_attention  Inductor's FlexAttention template: triton_tem_fused__to_copy_flex_attention_ones_...
# Deliberately absent: "cudnn", "cutlass", "fprop", "softmax", "xmma", "triton" and "fused" alone, which also name
# VGGT's patch-embed convolution (cutlass__5x_cudnn::Kernel<..._s16816fprop_...>), cuBLAS gemms, the math
# backend's softmax and Inductor's pointwise kernels (triton_poi_fused_ones_0).
FUSED_ATTENTION = re.compile(r"sdpa|fmha|flash_(?:fwd|bwd)|flash_?att(?:n|ention)|flex_attention", re.IGNORECASE)

# Kineto keeps CUPTI subscribed after a profile ends unless TEARDOWN_CUPTI=1 (pytorch/pytorch#144455), and every
# later kernel launch in the process pays for it: on the H100 one profiled forward made the aggregator's later
# forwards 7 % slower at 1 frame and 13 % at 8, and none with teardown (docs/measurements/2026-11-27-h100-backends).
# The proof profiles every case, so without teardown each case would time the previous cases' profiling too.
CUPTI_TEARDOWN = ("TEARDOWN_CUPTI", "1")


# Enough of a kernel's name to tell it apart in a problem line: FlashAttention 3's name only gets to its kernel
# class after "void cutlass::device_kernel<flash::enable_sm90_or_later<" (57 characters).
SHORT_NAME_CHARS = 100


@dataclass(frozen=True)
class KernelProof:
    """The fused attention kernel that took the most device time ("" if none) and what contradicts the backend.

    `problem` is "" when the expectation holds, else one line saying what was expected and what ran.
    """

    kernel: str
    problem: str


def cuda_kernel_times(run: Callable[[], object], device: torch.device) -> dict[str, float]:
    """Device microseconds per CUDA kernel name over ONE call of run, synchronized inside the profile.

    Call it after warm-up, so the kernels are the steady-state choice (cuDNN plans, autotuning) and not the
    first call's. Off CUDA there are no kernels to name: returns {} without starting the profiler. CUPTI is torn
    down when the profile ends (CUPTI_TEARDOWN, overriding the environment), so the timed rounds after it run clean.
    """
    if device.type != "cuda":
        return {}
    with _environment(*CUPTI_TEARDOWN), profile(activities=[ProfilerActivity.CUDA]) as profiler:  # read at its stop
        run()
        synchronize(device)
    times: dict[str, float] = {}
    for event in profiler.events():
        if event.device_type == DeviceType.CUDA:
            times[event.name] = times.get(event.name, 0.0) + event.device_time_total
    return times


@contextlib.contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    """The variable set to value inside the block; what it was (or its absence) comes back after."""
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            del os.environ[name]
        else:
            os.environ[name] = previous


def prove_kernel(expected: str | None, kernel_times: Mapping[str, float]) -> KernelProof:
    """Check the profiled kernels against the backend's expectation (pure).

    expected None records the top fused attention kernel only; NO_FUSED_KERNEL fails if any ran; otherwise it is
    a regex the top one must match, and so must every other fused attention kernel that ran: a backend that
    silently falls back for some calls (say the global attention) would time a mixture under its name.
    Empty kernel_times (no CUDA device was profiled) proves nothing and contradicts nothing.
    """
    fused = {name: us for name, us in kernel_times.items() if FUSED_ATTENTION.search(name)}
    top = max(fused, key=fused.__getitem__, default="")
    if not kernel_times or expected is None:
        return KernelProof(top, "")
    if expected == NO_FUSED_KERNEL:
        return KernelProof(top, _unexpected_fused(fused, top))
    return KernelProof(top, _mismatch(expected, fused, top, kernel_times))


def _unexpected_fused(fused: Mapping[str, float], top: str) -> str:
    """The problem when no fused attention kernel may run: which did, and how many."""
    if not fused:
        return ""
    others = f" and {len(fused) - 1} other(s)" if len(fused) > 1 else ""
    return f"expected no fused attention kernel, saw {_short(top)}{others}"


def _mismatch(expected: str, fused: Mapping[str, float], top: str, kernel_times: Mapping[str, float]) -> str:
    """The problem when every fused attention kernel must match expected: none ran, the top or a stray one differs."""
    if not fused:
        busiest = max(kernel_times, key=kernel_times.__getitem__)
        return f"expected a fused attention kernel matching {expected!r}, saw none (busiest kernel {_short(busiest)})"
    if not re.search(expected, top):
        return f"expected a fused attention kernel matching {expected!r}, saw {_short(top)}"
    strays = sorted((name for name in fused if not re.search(expected, name)), key=fused.__getitem__, reverse=True)
    if not strays:
        return ""
    share = sum(fused[name] for name in strays) / (sum(fused.values()) or 1.0)
    return (
        f"expected every fused attention kernel to match {expected!r}, saw also {_short(strays[0])}"
        f" ({len(strays)} kernel(s), {share:.0%} of attention time)"
    )


def _short(kernel: str) -> str:
    """The kernel's name cut to its first SHORT_NAME_CHARS: template arguments run to hundreds of characters."""
    return kernel if len(kernel) <= SHORT_NAME_CHARS else kernel[:SHORT_NAME_CHARS] + "..."
