"""Runs one case through pytest-benchmark and turns what happened into a CaseResult."""

from __future__ import annotations

import math
from typing import Any

import torch

from perf.backends.protocol import Backend
from perf.core.results import CaseKey, CaseResult, Evidence, Outcome
from perf.core.stats import summarize_rounds
from perf.hardware.clocks import sampled_clocks, summarize_clocks
from perf.hardware.device import reduced_precision
from perf.measure.kernel_proof import KernelProof, cuda_kernel_times, prove_kernel
from perf.measure.memory import is_out_of_memory, read_peak, reset_peak
from perf.measure.timing import RoundPolicy, synchronized, time_rounds, warm_up
from perf.workloads.correctness import Accuracy, compare_outputs
from perf.workloads.registry import Workload
from perf.workloads.runtime import Outputs, Prepared, Runtime
from perf.workloads.vggt import vggt_unavailable_reason

GIB = 1024**3
# What PyTorch says when a forced SDPA kernel rejects the case's shape or dtype.
_NO_KERNEL_MARKERS = ("no available kernel", "no viable backend")


def unavailable_reason(workload: Workload, backend: Backend, runtime: Runtime) -> str | None:
    """Why this case cannot run here (no GPU, no vggt, backend unusable), or None."""
    if workload.needs_cuda and runtime.device.type != "cuda":
        return f"{workload.name} needs a CUDA GPU; torch sees none (torch {torch.__version__})"
    if workload.needs_vggt and (reason := vggt_unavailable_reason()):
        return reason
    return backend.unavailable_reason(runtime.device, reduced_precision(runtime.device))


def measure_case(
    key: CaseKey, workload: Workload, backend: Backend, benchmark: Any, runtime: Runtime, policy: RoundPolicy
) -> CaseResult:
    """Check the output, warm up, prove the kernel, time rounds until precise enough, read peak memory.

    workload and backend are what runs: the case's own, unless a substitution (another backend) or a trial (a
    slowed-down workload) was asked for; the result is recorded under key.
    The check and the kernel proof run outside the timed rounds; a wrong output or another kernel than the
    forced one makes the case WRONG, whatever its speed. OOM and kernel refusals become outcomes.
    """
    if reason := unavailable_reason(workload, backend, runtime):
        return CaseResult(key, Outcome.SKIPPED, reason=reason)
    reset_peak(runtime.device)
    try:
        return _measured(key, workload.prepare(key, runtime), backend, benchmark, runtime.device, policy)
    except (torch.OutOfMemoryError, RuntimeError) as error:
        return _failure_result(key, runtime, backend.name, error)
    finally:
        reset_peak(runtime.device)


def _measured(
    key: CaseKey, prepared: Prepared, backend: Backend, benchmark: Any, device: torch.device, policy: RoundPolicy
) -> CaseResult:
    """The prepared case checked, warmed up, proven and timed under the backend."""
    run = synchronized(prepared.forward, device)
    expected = _expected(prepared, backend.name)
    with backend.activate() as activation:
        accuracy = _check(prepared, expected)
        del expected
        reset_peak(device)  # peak memory is the timed forward's: not the check's reference and float64 copies
        warm_up(run, policy)
        proof = prove_kernel(backend.kernel_pattern, cuda_kernel_times(run, device))
        evidence = Evidence(proof.kernel, accuracy.relative_error if accuracy else None, activation.compile_s)
        if problem := _wrong(backend.name, accuracy, proof):
            return CaseResult(key, Outcome.WRONG, prepared.dtype, reason=problem, evidence=evidence)
        with sampled_clocks(device) as clock_samples:
            ended_by = time_rounds(benchmark, run, policy)
    memory = read_peak(device)
    if benchmark.stats is None:
        return CaseResult(key, Outcome.SKIPPED, prepared.dtype, reason="benchmarking is disabled (--benchmark-disable)")
    return CaseResult(
        key,
        Outcome.OK,
        prepared.dtype,
        summarize_rounds(benchmark.stats.stats.data),
        memory,
        evidence=evidence,
        rounds_ended_by=ended_by.value,
        clocks=summarize_clocks(clock_samples),
    )


def _expected(prepared: Prepared, backend_name: str) -> Outputs | None:
    """The reference output, computed outside the backend; None where the backend's own output is the reference."""
    reference = prepared.reference
    if reference is None or reference.computed_by == backend_name:
        return None
    return reference.expected()


def _check(prepared: Prepared, expected: Outputs | None) -> Accuracy | None:
    """One forward under the backend, its selected output against the reference; None where there is none.

    An output of the wrong shape is as wrong as it gets: an infinite error, never an exception.
    """
    if prepared.reference is None or expected is None:
        return None
    try:
        return compare_outputs(prepared.reference.select(prepared.forward()), expected, prepared.reference.tolerance)
    except ValueError:
        return Accuracy(math.inf, math.inf, prepared.reference.tolerance)


def _wrong(backend_name: str, accuracy: Accuracy | None, proof: KernelProof) -> str:
    """Why the case measured something else than the backend it names, or "" when it did not."""
    if accuracy is not None and not accuracy.ok:
        return f"{backend_name} computes a wrong output: {accuracy.describe()}"
    if proof.problem:
        return f"{backend_name} did not run its kernel: {proof.problem}"
    return ""


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
