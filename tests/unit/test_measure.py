"""measure_case on a CPU: what a measured case, a CUDA out-of-memory, a kernel refusal and other errors become."""

from __future__ import annotations

import dataclasses
import gc
import sys
import types
from collections.abc import Callable, Iterator

import pytest
import torch
import torch.nn.functional as F

import perf.measure.case
from perf.backends.registry import BACKENDS
from perf.core.results import CaseKey, CaseResult, Outcome, Resolution
from perf.measure.case import GIB, _failure_result, measure_case, unavailable_reason
from perf.measure.timing import RoundPolicy
from perf.tools.rounds_fixture import RoundsFixture
from perf.workloads.registry import WORKLOADS, Workload
from perf.workloads.runtime import Prepared, Reference, Runtime
from perf.workloads.vggt import VggtModels, vggt_unavailable_reason

CPU_RUNTIME = Runtime(torch.device("cpu"), VggtModels(torch.device("cpu"), None))  # builds VGGT only on use
QUICK = RoundPolicy(warmup_s=0.0, max_time_s=0.005, min_rounds=2, max_rounds=4)
TINY = CaseKey("attention", "sdpa-math", 1, Resolution(28, 28))
BIG = CaseKey("attention", "sdpa-flash", 200, Resolution(518, 518))  # never allocated: its forward is faked


@pytest.fixture(autouse=True, scope="module")
def frozen_heap() -> Iterator[None]:
    """measure_case runs gc.collect() around every case; frozen, this process's objects make that cheap."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


def flash_enabled() -> bool:
    return torch.backends.cuda.flash_sdp_enabled()


class FakeBenchmark(RoundsFixture):
    """pytest-benchmark's fixture as measure_case uses it (gate_trials' stand-in), recording each pedantic call;
    disabled, it runs the target once and keeps no stats, as --benchmark-disable does."""

    def __init__(self, enabled: bool = True) -> None:
        super().__init__()
        self.enabled = enabled
        self.calls: list[dict[str, int]] = []
        self.flash_enabled_while_timing: bool | None = None

    def pedantic(
        self, target: Callable[[], object], setup: Callable[[], None], rounds: int, iterations: int, warmup_rounds: int
    ) -> None:
        self.calls.append({"rounds": rounds, "iterations": iterations, "warmup_rounds": warmup_rounds})
        self.flash_enabled_while_timing = flash_enabled()
        if not self.enabled:
            setup()
            target()
            return
        super().pedantic(target, setup, rounds, iterations, warmup_rounds)


def with_forward(forward: Callable[[], object], name: str = "attention") -> tuple[Workload, list[CaseKey]]:
    """The workload with a prepare that yields this forward, and the keys it was prepared for."""
    prepared_for: list[CaseKey] = []

    def prepare(key: CaseKey, runtime: Runtime) -> Prepared:
        prepared_for.append(key)
        return Prepared(forward, "fp32")

    return dataclasses.replace(WORKLOADS[name], prepare=prepare), prepared_for


def measure(key: CaseKey, backend: str, benchmark: FakeBenchmark, workload: Workload | None = None) -> CaseResult:
    """measure_case on the CPU with the QUICK policy: the case's own workload unless another is given."""
    return measure_case(key, workload or WORKLOADS[key.workload], BACKENDS[backend], benchmark, CPU_RUNTIME, QUICK)


def raising(error: BaseException) -> Callable[[], object]:
    def forward() -> object:
        raise error

    return forward


@pytest.fixture
def gpu_of_80_gib(monkeypatch: pytest.MonkeyPatch) -> None:
    """There is no GPU here; the OOM reason asks torch for the total memory of the runtime's device."""
    monkeypatch.setattr(
        torch.cuda, "get_device_properties", lambda device: types.SimpleNamespace(total_memory=80 * GIB)
    )


def test_a_measured_case_has_its_rounds_timed_inside_the_backend() -> None:
    benchmark = FakeBenchmark()
    result = measure(TINY, "sdpa-math", benchmark)
    assert result.outcome is Outcome.OK
    assert result.key == TINY
    assert result.dtype == "fp32"
    assert result.memory is None  # no GPU memory on a CPU
    assert result.reason == ""
    (call,) = benchmark.calls
    assert call["iterations"] == 1 and call["warmup_rounds"] == 0
    assert result.rounds_ended_by in {"time cap", "round cap", "precision"} and not benchmark.has_error
    assert QUICK.min_rounds <= result.timing.rounds <= QUICK.max_rounds
    assert result.timing is not None
    assert result.timing.rounds == len(benchmark.stats.stats.data)
    assert 0 < result.timing.min_s <= result.timing.median_s <= result.timing.max_s
    assert benchmark.flash_enabled_while_timing is False  # sdpa-math forced while the rounds ran
    assert flash_enabled()  # and released afterwards


def test_the_measured_backend_is_the_one_activated_not_the_cases() -> None:
    benchmark = FakeBenchmark()
    flash_case = dataclasses.replace(TINY, backend="sdpa-flash")
    result = measure(flash_case, "sdpa-math", benchmark)  # --substitute-backend
    assert result.outcome is Outcome.OK
    assert result.key == flash_case
    assert benchmark.flash_enabled_while_timing is False


def test_a_disabled_benchmark_skips_the_case() -> None:
    result = measure(TINY, "sdpa-math", FakeBenchmark(enabled=False))
    assert result.outcome is Outcome.SKIPPED
    assert result.reason == "benchmarking is disabled (--benchmark-disable)"
    assert result.timing is None


@pytest.mark.parametrize(
    "error",
    [
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB. GPU 0 has a total capacity of 79 GiB"),
        RuntimeError("CUDA error: out of memory\nCUDA kernel errors might be asynchronously reported"),
    ],
    ids=["OutOfMemoryError", "RuntimeError"],
)
def test_a_cuda_out_of_memory_becomes_the_cases_outcome(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    changed, prepared_for = with_forward(raising(error))
    benchmark = FakeBenchmark()
    result = measure(BIG, "sdpa-math", benchmark, changed)
    assert prepared_for == [BIG]
    assert result.outcome is Outcome.OOM
    assert result.reason == "out of memory at 200 frames 518x518 (cpu)"
    assert result.timing is None and result.memory is None
    assert benchmark.calls == []  # warm-up failed: nothing was timed
    assert flash_enabled()  # the forced backend was released on the way out


def test_an_out_of_memory_while_preparing_inputs_is_an_oom_too(monkeypatch: pytest.MonkeyPatch) -> None:
    def prepare(key: CaseKey, runtime: Runtime) -> Prepared:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    changed = dataclasses.replace(WORKLOADS["attention"], prepare=prepare)
    result = measure(BIG, "sdpa-math", FakeBenchmark(), changed)
    assert result.outcome is Outcome.OOM
    assert "200 frames 518x518" in result.reason


def test_an_out_of_memory_during_the_timed_rounds_is_an_oom(monkeypatch: pytest.MonkeyPatch) -> None:
    forwards = []

    def forward() -> None:  # the two warm-up forwards fit; the first timed round does not
        forwards.append(1)
        if len(forwards) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 512.00 MiB")

    changed, _ = with_forward(forward)
    benchmark = FakeBenchmark()
    result = measure(BIG, "sdpa-math", benchmark, changed)
    assert len(benchmark.calls) == 1
    assert result.outcome is Outcome.OOM
    assert result.reason == "out of memory at 200 frames 518x518 (cpu)"


@pytest.mark.filterwarnings("ignore:Flash attention:UserWarning")  # PyTorch says why flash refused
def test_a_kernel_refusing_the_shape_skips_the_case_naming_the_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    # A real refusal: PyTorch's CPU flash kernel needs one head dim for q, k and v.
    q = torch.randn(1, 2, 16, 64)
    v = torch.randn(1, 2, 16, 32)
    changed, _ = with_forward(lambda: F.scaled_dot_product_attention(q, q, v))
    result = measure(BIG, "sdpa-flash", FakeBenchmark(), changed)
    assert result.outcome is Outcome.SKIPPED
    assert result.reason == (
        "sdpa-flash has no kernel for one of this case's attention calls (dtype or shape): "
        "No available kernel.  Aborting execution."
    )
    assert flash_enabled() and torch.backends.cuda.math_sdp_enabled()


@pytest.mark.parametrize(
    "message",
    [
        "No available kernel. Aborting execution.",
        "No viable backend for scaled_dot_product_attention was found.\nThis is likely due to turning off both",
    ],
)
def test_pytorchs_no_kernel_messages_skip_the_case(monkeypatch: pytest.MonkeyPatch, message: str) -> None:
    changed, _ = with_forward(raising(RuntimeError(message)))
    result = measure(BIG, "sdpa-default", FakeBenchmark(), changed)
    assert result.outcome is Outcome.SKIPPED
    assert result.reason.startswith(
        "sdpa-default has no kernel for one of this case's attention calls (dtype or shape)"
    )
    assert result.reason.endswith(message.splitlines()[0])
    assert "\n" not in result.reason


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("CUDA error: an illegal memory access was encountered"),
        RuntimeError("mat1 and mat2 shapes cannot be multiplied (4x3 and 4x5)"),
        ValueError("not a runtime error"),
    ],
    ids=["illegal-access", "shape-bug", "value-error"],
)
def test_any_other_error_propagates(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    changed, _ = with_forward(raising(error))
    with pytest.raises(type(error)) as raised:
        measure(TINY, "sdpa-math", FakeBenchmark(), changed)
    assert raised.value is error
    assert flash_enabled()


@pytest.mark.parametrize("workload", ["vggt-aggregator", "vggt-model"])
def test_a_vggt_workload_on_a_cpu_is_skipped_before_anything_is_prepared(
    monkeypatch: pytest.MonkeyPatch, workload: str
) -> None:
    changed, prepared_for = with_forward(raising(AssertionError("must not run")), workload)
    benchmark = FakeBenchmark()
    key = CaseKey(workload, "sdpa-default", 1, Resolution(350, 518))
    result = measure(key, "sdpa-default", benchmark, changed)
    assert result.outcome is Outcome.SKIPPED
    assert result.reason == f"{workload} needs a CUDA GPU; torch sees none (torch {torch.__version__})"
    assert prepared_for == [] and benchmark.calls == []


def test_a_backend_that_cannot_run_here_is_skipped_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    changed, prepared_for = with_forward(raising(AssertionError("must not run")))
    key = dataclasses.replace(TINY, backend="sdpa-cudnn")
    result = measure(key, "sdpa-cudnn", FakeBenchmark(), changed)
    assert result.outcome is Outcome.SKIPPED
    assert result.reason == "sdpa-cudnn runs on cuda only, this run is on cpu"
    assert prepared_for == []


def test_a_vggt_workload_on_a_gpu_without_vggt_is_skipped_with_the_install_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(perf.measure.case, "vggt_unavailable_reason", lambda: "vggt is not installed (pip install ...)")
    runtime = Runtime(torch.device("cuda", 0), models=None)  # type: ignore[arg-type]  # only its device type is read
    key = CaseKey("vggt-aggregator", "sdpa-flash", 20, Resolution(350, 518))
    assert (
        unavailable_reason(WORKLOADS[key.workload], BACKENDS["sdpa-flash"], runtime)
        == "vggt is not installed (pip install ...)"
    )


def test_the_real_vggt_reason_is_used_when_vggt_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vggt", None)  # not importable, even where it is installed
    runtime = Runtime(torch.device("cuda", 0), models=None)  # type: ignore[arg-type]
    key = CaseKey("vggt-model", "sdpa-default", 1, Resolution(350, 518))
    reason = unavailable_reason(WORKLOADS[key.workload], BACKENDS["sdpa-default"], runtime)
    assert reason == vggt_unavailable_reason()
    assert reason is not None and reason.startswith("vggt is not installed")


def test_a_gpu_out_of_memory_names_the_gpus_size(gpu_of_80_gib: None) -> None:
    gpu = Runtime(torch.device("cuda", 0), models=None)  # type: ignore[arg-type]  # only its device is read
    error = torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
    result = _failure_result(BIG, gpu, "sdpa-flash", error)
    assert result.outcome is Outcome.OOM
    assert result.reason == "CUDA out of memory at 200 frames 518x518 (80.0 GiB GPU)"


def test_a_real_attention_case_is_checked_against_float32_math_and_records_its_error() -> None:
    result = measure(TINY, "sdpa-math", FakeBenchmark())
    assert result.outcome is Outcome.OK
    assert result.evidence.relative_error is not None
    assert 0 <= result.evidence.relative_error < 1e-5  # fp32 on a CPU: summation order only
    assert result.evidence.attention_kernel == ""  # nothing is profiled off-GPU


def test_a_backend_with_a_wrong_output_is_wrong_and_is_not_timed(monkeypatch: pytest.MonkeyPatch) -> None:
    output = torch.ones(2, 3)

    def prepare(key: CaseKey, runtime: Runtime) -> Prepared:
        return Prepared(lambda: output, "fp32", Reference(lambda: 2 * output, lambda out: out, tolerance=1e-2))

    changed = dataclasses.replace(WORKLOADS["attention"], prepare=prepare)
    benchmark = FakeBenchmark()
    result = measure(TINY, "sdpa-math", benchmark, changed)
    assert result.outcome is Outcome.WRONG
    assert result.reason == (
        "sdpa-math computes a wrong output: relative error 5.0e-01 (max abs 1.0e+00), tolerance 1.0e-02"
    )
    assert result.evidence.relative_error == pytest.approx(0.5)
    assert benchmark.calls == []


def test_a_forced_backend_whose_kernel_did_not_run_is_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    # As if profiled on a GPU: the math backend was forced, yet a fused flash kernel ran.
    monkeypatch.setattr(
        perf.measure.case, "cuda_kernel_times", lambda run, device: {"pytorch_flash::flash_fwd_kernel": 5.0}
    )
    benchmark = FakeBenchmark()
    result = measure(TINY, "sdpa-math", benchmark)
    assert result.outcome is Outcome.WRONG
    assert result.reason.startswith("sdpa-math did not run its kernel: expected no fused attention kernel, saw ")
    assert result.evidence.attention_kernel == "pytorch_flash::flash_fwd_kernel"
    assert benchmark.calls == []


def test_the_backend_whose_output_is_the_reference_is_not_checked_against_itself(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def never() -> torch.Tensor:
        raise AssertionError("the reference of the reference backend was computed")

    def prepare(key: CaseKey, runtime: Runtime) -> Prepared:
        return Prepared(lambda: torch.ones(2), "fp32", Reference(never, lambda out: out, 1e-2, computed_by="sdpa-math"))

    changed = dataclasses.replace(WORKLOADS["attention"], prepare=prepare)
    result = measure(TINY, "sdpa-math", FakeBenchmark(), changed)
    assert result.outcome is Outcome.OK
    assert result.evidence.relative_error is None


def test_an_output_of_the_wrong_shape_is_wrong_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    def untransposed(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, **_: object) -> torch.Tensor:
        return q.transpose(1, 2).contiguous()  # [B, N, H, D] handed back as if it were [B, H, N, D]

    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", untransposed)
    result = measure(TINY, "sdpa-math", FakeBenchmark())
    assert result.outcome is Outcome.WRONG
    assert result.reason == "sdpa-math computes a wrong output: relative error inf (max abs inf), tolerance 1.0e-04"


def test_an_allocation_failure_inside_cublas_is_an_oom() -> None:
    error = RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`")
    result = _failure_result(BIG, CPU_RUNTIME, "sdpa-flash", error)
    assert result.outcome is Outcome.OOM
