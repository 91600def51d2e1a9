"""Runs one case through pytest-benchmark and turns what happened into a CaseResult."""

from __future__ import annotations

from typing import Any

import torch

from perf.backends import BACKENDS, SdpaBackend
from perf.device import reduced_precision
from perf.memory import is_out_of_memory, read_peak, reset_peak
from perf.model import vggt_unavailable_reason
from perf.results import CaseKey, CaseResult, Outcome
from perf.runtime import Runtime
from perf.stats import summarize_rounds
from perf.timing import RoundPolicy, plan_rounds, synchronized, warm_up
from perf.workloads import WORKLOADS

GIB = 1024**3
# What PyTorch says when a forced SDPA kernel rejects the case's shape or dtype.
_NO_KERNEL_MARKERS = ("no available kernel", "no viable backend")


def unavailable_reason(key: CaseKey, runtime: Runtime, backend: SdpaBackend) -> str | None:
    """Why this case cannot run here (no GPU, no vggt, backend unusable), or None."""
    workload = WORKLOADS[key.workload]
    if workload.needs_cuda and runtime.device.type != "cuda":
        return f"{key.workload} needs a CUDA GPU; torch sees none (torch {torch.__version__})"
    if workload.needs_vggt and (reason := vggt_unavailable_reason()):
        return reason
    return backend.unavailable_reason(runtime.device, reduced_precision(runtime.device))


def measure_case(key: CaseKey, benchmark: Any, runtime: Runtime, policy: RoundPolicy, backend_name: str) -> CaseResult:
    """Warm up, time rounds with benchmark.pedantic, read peak memory; OOM and kernel refusals become outcomes.

    backend_name is the backend actually activated: the case's own, unless a substitution was asked for.
    """
    backend = BACKENDS[backend_name]
    if reason := unavailable_reason(key, runtime, backend):
        return CaseResult(key, Outcome.SKIPPED, reason=reason)
    device = runtime.device
    reset_peak(device)
    try:
        prepared = WORKLOADS[key.workload].prepare(key, runtime)
        run = synchronized(prepared.forward, device)
        with backend.activate():
            rounds = plan_rounds(warm_up(run, policy), policy)
            benchmark.pedantic(run, rounds=rounds, iterations=1, warmup_rounds=0)
        memory = read_peak(device)
    except (torch.OutOfMemoryError, RuntimeError) as error:
        return _failure_result(key, runtime, backend_name, error)
    finally:
        reset_peak(device)
    if benchmark.stats is None:
        return CaseResult(key, Outcome.SKIPPED, prepared.dtype, reason="benchmarking is disabled (--benchmark-disable)")
    timing = summarize_rounds(benchmark.stats.stats.data)
    return CaseResult(key, Outcome.OK, prepared.dtype, timing, memory)


def _failure_result(key: CaseKey, runtime: Runtime, backend_name: str, error: BaseException) -> CaseResult:
    if is_out_of_memory(error):
        where = f"at {key.frames} frames {key.resolution}"
        if runtime.device.type != "cuda":
            return CaseResult(key, Outcome.OOM, reason=f"out of memory {where} ({runtime.device.type})")
        total = torch.cuda.get_device_properties(runtime.device).total_memory / GIB
        return CaseResult(key, Outcome.OOM, reason=f"CUDA out of memory {where} ({total:.1f} GiB GPU)")
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    if any(marker in message.lower() for marker in _NO_KERNEL_MARKERS):
        return CaseResult(
            key,
            Outcome.SKIPPED,
            reason=f"{backend_name} has no kernel for one of this case's attention calls (dtype or shape): {message}",
        )
    raise error
