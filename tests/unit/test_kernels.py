"""Routed attention backends on a CPU, with stand-in kernels: routing, casts, layouts, refusals, restoring SDPA,
availability reasons, the flex compile cache and the kernel-name patterns."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import sys
import time
import types

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import perf.backends.libraries
import perf.backends.routed
from perf.backends.libraries import FA2, FA3, FA4, FLEX, ROUTED_BACKENDS
from perf.backends.protocol import Activation
from perf.backends.routed import RoutedBackend
from perf.backends.routing import Layout

PYTORCH_SDPA = F.scaled_dot_product_attention  # captured before any activation: what the stand-ins compute with
CPU = torch.device("cpu")
CUDA = torch.device("cuda", 0)  # only a name: nothing here touches a GPU
ALL_DTYPES = frozenset({"bf16", "fp16", "fp32"})
KERNEL_MODULES = {"fa2": "flash_attn", "fa3": "flash_attn_interface", "fa4": "flash_attn.cute"}


class TokensFirstKernel:
    """flash_attn_func stand-in: SDPA in [B, N, H, D], recording the q, k, v it was handed."""

    def __init__(self, returns_lse: bool = False) -> None:
        self.returns_lse = returns_lse
        self.received: list[tuple[torch.Tensor, ...]] = []

    def __call__(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, softmax_scale: float | None = None):
        self.received.append((q, k, v))
        out = PYTORCH_SDPA(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), scale=softmax_scale)
        out = out.transpose(1, 2)
        return (out, torch.zeros(out.shape[:-1])) if self.returns_lse else out


class FakeCompiler:
    """Stands in for torch.compile: records what it compiled and takes 10 ms, so compile time is measurable."""

    def __init__(self) -> None:
        self.compiled: list[object] = []

    def __call__(self, kernel):
        self.compiled.append(kernel)
        time.sleep(0.01)
        return kernel


def heads_first_kernel(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float | None = None):
    """flex_attention stand-in: SDPA itself, [B, H, N, D] in and out."""
    return PYTORCH_SDPA(q, k, v, scale=scale)


def on_cpu(backend: RoutedBackend, kernel: object, **changes: object) -> RoutedBackend:
    """The backend with a stand-in kernel, allowed on the CPU and in every dtype unless `changes` say otherwise."""
    fields = {"load": lambda: kernel, "device_types": frozenset({"cpu"}), "dtypes": ALL_DTYPES, **changes}
    return dataclasses.replace(backend, **fields)


def qkv(shape: tuple[int, ...], dtypes: tuple[torch.dtype, ...], seed: int = 0) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=generator).to(dtype) for dtype in dtypes]


# ---------------------------------------------------------------- routing


DTYPE_CASES = {  # q, k, v dtypes and whether bf16 autocast is on
    "fp32": ((torch.float32,) * 3, False),
    "bf16": ((torch.bfloat16,) * 3, False),
    "qk fp32, v bf16 under bf16 autocast (VGGT's RoPE)": ((torch.float32, torch.float32, torch.bfloat16), True),
    "qk fp32, v fp16 without autocast": ((torch.float32, torch.float32, torch.float16), False),
    "fp32 under bf16 autocast": ((torch.float32,) * 3, True),
    "qk bf16, v fp32 under bf16 autocast": ((torch.bfloat16, torch.bfloat16, torch.float32), True),
}


@settings(max_examples=40, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 17), st.sampled_from([8, 16, 64])),
    case=st.sampled_from(sorted(DTYPE_CASES)),
    scale=st.none() | st.floats(0.05, 2.0),
    returns_lse=st.booleans(),
)
def test_a_routed_call_equals_sdpa_and_hands_the_kernel_uncopied_views_in_one_dtype(
    shape: tuple[int, int, int, int], case: str, scale: float | None, returns_lse: bool
) -> None:
    dtypes, autocast = DTYPE_CASES[case]
    q, k, v = qkv(shape, dtypes)
    computed = torch.bfloat16 if autocast else v.dtype
    kernel = TokensFirstKernel(returns_lse)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        # SDPA casts under autocast itself; without autocast it refuses mixed dtypes, so it gets them cast.
        expected = PYTORCH_SDPA(*((q, k, v) if autocast else (t.to(computed) for t in (q, k, v))), scale=scale)
        with on_cpu(FA2, kernel).activate():
            output = F.scaled_dot_product_attention(q, k, v, scale=scale)
    assert output.dtype == expected.dtype == computed
    assert output.shape == q.shape
    tolerance = {"rtol": 1e-5, "atol": 1e-6} if computed == torch.float32 else {"rtol": 2e-2, "atol": 2e-2}
    torch.testing.assert_close(output, expected, **tolerance)
    (received,) = kernel.received
    batch, heads, tokens, head_dim = shape
    for given_tensor, seen in zip((q, k, v), received, strict=True):
        assert seen.dtype == computed
        assert seen.shape == (batch, tokens, heads, head_dim)
        if given_tensor.dtype == computed:
            assert seen.data_ptr() == given_tensor.data_ptr()  # a view of the caller's tensor, not a copy
        if heads > 1 and tokens > 1:
            assert not seen.is_contiguous()


def test_a_mixed_dtype_call_under_autocast_returns_autocasts_dtype_like_sdpa() -> None:
    q, k, v = qkv((2, 3, 9, 64), (torch.float32, torch.float32, torch.bfloat16))
    kernel = TokensFirstKernel()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = PYTORCH_SDPA(q, k, v)
        with on_cpu(FA2, kernel, dtypes=frozenset({"bf16", "fp16"})).activate():
            output = F.scaled_dot_product_attention(q, k, v)
    assert output.dtype == expected.dtype == torch.bfloat16
    torch.testing.assert_close(output, expected, rtol=2e-2, atol=2e-2)
    assert {t.dtype for t in kernel.received[0]} == {torch.bfloat16}


def test_a_heads_first_kernel_gets_the_callers_tensors_and_sdpas_scale() -> None:
    received = []

    def kernel(q, k, v, scale=None):
        received.append(((q, k, v), scale))
        return heads_first_kernel(q, k, v, scale)

    q, k, v = qkv((1, 2, 5, 16), (torch.float32,) * 3)
    backend = on_cpu(FLEX, kernel, compiler=None)
    assert backend.layout is Layout.HEADS_FIRST
    with backend.activate():
        output = F.scaled_dot_product_attention(q, k, v, scale=0.25)
    torch.testing.assert_close(output, PYTORCH_SDPA(q, k, v, scale=0.25))
    ((tensors, scale),) = received
    assert all(seen is given_tensor for seen, given_tensor in zip(tensors, (q, k, v), strict=True))
    assert scale == 0.25


@pytest.mark.filterwarnings("ignore:flex_attention called without torch.compile:UserWarning")
def test_real_flex_attention_uncompiled_matches_sdpa() -> None:
    q, k, v = qkv((2, 2, 12, 16), (torch.float32,) * 3)
    with dataclasses.replace(FLEX, compiler=lambda kernel: kernel, device_types=frozenset({"cpu"})).activate():
        output = F.scaled_dot_product_attention(q, k, v, scale=0.3)
    torch.testing.assert_close(output, PYTORCH_SDPA(q, k, v, scale=0.3), rtol=1e-5, atol=1e-5)


def test_real_flex_attention_traced_by_torch_compile_matches_sdpa() -> None:
    """Dynamo traces flex_attention while SDPA is routed (it reads the names of torch.nn.functional's members then):
    the H100 run of 2026-11-27 failed here when the route was a functools.partial. The eager backend keeps it fast."""
    q, k, v = qkv((1, 2, 16, 16), (torch.float32,) * 3)

    def traced(kernel: object) -> object:
        return torch.compile(kernel, backend="eager", dynamic=False)

    with dataclasses.replace(FLEX, compiler=traced, device_types=frozenset({"cpu"})).activate() as activation:
        output = F.scaled_dot_product_attention(q, k, v, scale=0.3)
    torch.testing.assert_close(output, PYTORCH_SDPA(q, k, v, scale=0.3), rtol=1e-5, atol=1e-5)
    assert activation.compile_s > 0


REFUSED_CALLS = {
    "attn_mask": ({"attn_mask": torch.ones(4, 4, dtype=torch.bool)}, (1, 2, 4, 64), "an attn_mask"),
    "causal": ({"is_causal": True}, (1, 2, 4, 64), "is_causal=True"),
    "dropout": ({"dropout_p": 0.1}, (1, 2, 4, 64), "dropout_p=0.1"),
    "gqa": ({"enable_gqa": True}, (1, 2, 4, 64), "enable_gqa=True"),
    "odd head dim": ({}, (1, 2, 4, 60), "head dim 60"),
    "large head dim": ({}, (1, 2, 4, 264), "head dim 264"),
    "three dims": ({}, (2, 4, 64), "q, k, v shaped"),
}


@pytest.mark.parametrize("refused", sorted(REFUSED_CALLS))
def test_a_call_the_kernel_cannot_take_raises_no_available_kernel_before_calling_it(refused: str) -> None:
    options, shape, what = REFUSED_CALLS[refused]
    kernel = TokensFirstKernel()
    with pytest.raises(RuntimeError, match=rf"^No available kernel: fa2 does not take {re.escape(what)}"):  # noqa: SIM117
        with on_cpu(FA2, kernel).activate():
            F.scaled_dot_product_attention(*qkv(shape, (torch.bfloat16,) * 3), **options)
    assert kernel.received == []


def test_keys_with_other_heads_than_queries_are_refused() -> None:
    q = torch.randn(1, 4, 8, 64, dtype=torch.bfloat16)
    k, v = (torch.randn(1, 2, 8, 64, dtype=torch.bfloat16) for _ in "kv")
    with pytest.raises(RuntimeError, match="No available kernel: fa2 does not take q, k, v shaped"):  # noqa: SIM117
        with on_cpu(FA2, TokensFirstKernel()).activate():
            F.scaled_dot_product_attention(q, k, v)


def test_a_dtype_the_kernel_does_not_compute_in_is_refused() -> None:
    kernel = TokensFirstKernel()
    with pytest.raises(RuntimeError, match="No available kernel: fa2 computes in bf16 or fp16 only"):  # noqa: SIM117
        with on_cpu(FA2, kernel, dtypes=FA2.dtypes).activate():
            F.scaled_dot_product_attention(*qkv((1, 2, 4, 64), (torch.float32,) * 3))
    assert kernel.received == []


# ---------------------------------------------------------------- activate restores


def routes_to(kernel: TokensFirstKernel) -> bool:
    """Whether a call of F.scaled_dot_product_attention now reaches `kernel`."""
    before = len(kernel.received)
    F.scaled_dot_product_attention(*qkv((1, 2, 4, 64), (torch.bfloat16,) * 3))
    return len(kernel.received) == before + 1


def test_activate_restores_sdpa_after_the_block() -> None:
    kernel = TokensFirstKernel()
    with on_cpu(FA2, kernel).activate() as activation:
        assert F.scaled_dot_product_attention is not PYTORCH_SDPA
        assert routes_to(kernel)
    assert F.scaled_dot_product_attention is PYTORCH_SDPA
    assert not routes_to(kernel)
    assert activation == Activation(compile_s=0.0)


def test_activate_restores_sdpa_after_an_error_inside() -> None:
    with pytest.raises(KeyError, match="inside"), on_cpu(FA3, TokensFirstKernel()).activate():
        raise KeyError("inside")
    assert F.scaled_dot_product_attention is PYTORCH_SDPA


def test_nested_activations_route_to_the_innermost_and_unwind_in_order() -> None:
    outer_kernel, inner_kernel = TokensFirstKernel(), TokensFirstKernel()
    outer, inner = on_cpu(FA2, outer_kernel), on_cpu(FA4, inner_kernel)
    with outer.activate():
        with pytest.raises(ValueError), inner.activate():
            assert routes_to(inner_kernel)
            with outer.activate():  # the same backend again, inside itself
                assert routes_to(outer_kernel)
            assert routes_to(inner_kernel)
            raise ValueError
        assert routes_to(outer_kernel)
        assert not routes_to(inner_kernel)
    assert F.scaled_dot_product_attention is PYTORCH_SDPA


def test_a_kernel_that_fails_to_load_leaves_sdpa_alone() -> None:
    def missing():
        raise ImportError("no kernel here")

    with pytest.raises(ImportError, match="no kernel here"), dataclasses.replace(FA2, load=missing).activate():
        pytest.fail("the block must not run")
    assert F.scaled_dot_product_attention is PYTORCH_SDPA


# ---------------------------------------------------------------- flex compile cache


def test_flex_compiles_a_shape_once_and_counts_only_that_time() -> None:
    compiler = FakeCompiler()
    flex = on_cpu(FLEX, heads_first_kernel, compiler=compiler)
    q, k, v = qkv((1, 2, 6, 16), (torch.float32,) * 3)
    with flex.activate() as first:
        output = F.scaled_dot_product_attention(q, k, v)
        F.scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(output, PYTORCH_SDPA(q, k, v))
    assert compiler.compiled == [heads_first_kernel]
    assert first.compile_s >= 0.01
    with flex.activate() as again:
        F.scaled_dot_product_attention(*qkv((1, 2, 6, 16), (torch.float32,) * 3, seed=1))  # same shape, new values
    assert len(compiler.compiled) == 1
    assert again.compile_s == 0.0
    with flex.activate() as longer:
        F.scaled_dot_product_attention(*qkv((1, 2, 7, 16), (torch.float32,) * 3))
    assert len(compiler.compiled) == 2
    assert longer.compile_s >= 0.01


def test_flex_compiles_again_for_another_dtype_or_grad_mode() -> None:
    compiler = FakeCompiler()
    flex = on_cpu(FLEX, heads_first_kernel, compiler=compiler)
    with flex.activate():
        F.scaled_dot_product_attention(*qkv((1, 2, 6, 16), (torch.float32,) * 3))
        F.scaled_dot_product_attention(*qkv((1, 2, 6, 16), (torch.bfloat16,) * 3))
        with torch.inference_mode():
            F.scaled_dot_product_attention(*qkv((1, 2, 6, 16), (torch.float32,) * 3))
    assert len(compiler.compiled) == 3


def test_flex_lifts_dynamos_recompile_limit_inside_the_block_only() -> None:
    import torch._dynamo

    limit = torch._dynamo.config.recompile_limit
    with on_cpu(FLEX, heads_first_kernel, compiler=FakeCompiler()).activate():
        assert torch._dynamo.config.recompile_limit > 100
    assert torch._dynamo.config.recompile_limit == limit


def test_the_flex_compiler_is_torch_compile_without_dynamic_shapes(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(torch, "compile", lambda kernel, **options: calls.append((kernel, options)) or kernel)
    assert FLEX.compiler is not None
    assert FLEX.compiler(heads_first_kernel) is heads_first_kernel
    assert calls == [(heads_first_kernel, {"dynamic": False})]


# ---------------------------------------------------------------- availability, versions, loading


@pytest.fixture
def no_kernel_libraries(monkeypatch: pytest.MonkeyPatch) -> None:
    """No FlashAttention importable, even on a machine that has it."""
    for module in KERNEL_MODULES.values():
        monkeypatch.setitem(sys.modules, module, None)


def test_the_registry_names_four_backends_described_in_one_line() -> None:
    assert [backend.name for backend in ROUTED_BACKENDS] == ["fa2", "fa3", "fa4", "flex"]
    assert [backend.distribution for backend in ROUTED_BACKENDS] == [
        "flash-attn",
        "flash-attn-3",
        "flash-attn-4",
        "torch",
    ]
    assert all(backend.summary and "\n" not in backend.summary for backend in ROUTED_BACKENDS)
    assert all(backend.device_types == {"cuda"} for backend in ROUTED_BACKENDS)


@pytest.mark.usefixtures("no_kernel_libraries")
@pytest.mark.parametrize("backend", [FA2, FA3, FA4], ids=lambda backend: backend.name)
@pytest.mark.parametrize("device", [CPU, CUDA], ids=str)
def test_a_missing_flash_attention_says_not_installed_and_how_to_install(
    backend: RoutedBackend, device: torch.device
) -> None:
    reason = backend.unavailable_reason(device, "bf16")
    assert reason is not None
    assert reason.startswith(f"{backend.name} is not installed (")
    assert KERNEL_MODULES[backend.name] in reason
    assert reason.endswith(f"; {backend.install_hint}")
    assert "\n" not in reason


def test_flex_on_a_cpu_says_it_needs_cuda() -> None:
    assert FLEX.unavailable_reason(CPU, "fp32") == "flex runs on cuda only, this run is on cpu"


def test_a_kernel_library_that_fails_to_import_says_so_in_one_line() -> None:
    def broken():
        raise OSError("libcudart.so.13: cannot open shared object file\nmore detail")

    reason = dataclasses.replace(FA4, load=broken).unavailable_reason(CUDA, "bf16")
    assert reason == (
        "fa4 is installed but does not import (OSError: libcudart.so.13: cannot open shared object file); "
        f"{FA4.install_hint}"
    )


def _cannot_import_name() -> object:
    raise ImportError("cannot import name 'flash_attn_func' from 'flash_attn' (unknown location)")


def test_a_namespace_left_by_another_distribution_without_the_kernel_is_not_installed() -> None:
    """On the H100, flash-attn-4 alone left `flash_attn` importable without FA2's flash_attn_func."""
    fa2 = dataclasses.replace(FA2, load=_cannot_import_name, distribution="no-such-distribution")
    reason = fa2.unavailable_reason(CUDA, "bf16")
    assert reason == (
        "fa2 is not installed (ImportError: cannot import name 'flash_attn_func' from 'flash_attn' "
        f"(unknown location)); {FA2.install_hint}"
    )


def test_an_installed_distribution_whose_kernel_cannot_be_imported_says_installed_but_broken() -> None:
    """flash-attn installed after flash-attn-4 overwrote FA4's flash_attn/cute on the H100."""
    fa4 = dataclasses.replace(FA4, load=_cannot_import_name, distribution="torch")
    reason = fa4.unavailable_reason(CUDA, "bf16")
    assert reason is not None and reason.startswith("fa4 is installed but does not import (ImportError: cannot import")
    assert reason.endswith(FA4.install_hint)


@pytest.mark.parametrize(
    ("backend", "capability", "needs"),
    [(FA2, (7, 0), "8.0 or newer"), (FA3, (8, 0), "9.x"), (FA3, (10, 0), "9.x"), (FA4, (8, 6), "9.x to 11.x")],
    ids=["fa2-volta", "fa3-ampere", "fa3-blackwell", "fa4-ampere"],
)
def test_a_gpu_of_another_architecture_is_named_with_what_the_kernel_needs(
    monkeypatch: pytest.MonkeyPatch, backend: RoutedBackend, capability: tuple[int, int], needs: str
) -> None:
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device: capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: "Some GPU")
    installed = dataclasses.replace(backend, load=TokensFirstKernel)
    assert installed.unavailable_reason(CUDA, "bf16") == (
        f"{backend.name} needs compute capability {needs}, this GPU (Some GPU) is {capability[0]}.{capability[1]}"
    )


@pytest.mark.parametrize("backend", [FA2, FA3, FA4], ids=lambda backend: backend.name)
def test_flash_attention_does_not_compute_in_fp32(backend: RoutedBackend) -> None:
    installed = dataclasses.replace(backend, load=TokensFirstKernel)
    assert (
        installed.unavailable_reason(CUDA, "fp32") == f"{backend.name} computes in bf16 or fp16 only, this run is fp32"
    )


def test_a_head_dim_limit_below_vggts_is_a_reason() -> None:
    narrow = dataclasses.replace(FA4, load=TokensFirstKernel, head_dims=perf.backends.routing.HeadDims(8, 32, 8))
    assert narrow.unavailable_reason(CUDA, "bf16") == "fa4 takes head dims 8..32 in multiples of 8, VGGT's is 64"


def test_the_probe_passes_a_kernel_that_computes_attention() -> None:
    assert on_cpu(FA2, TokensFirstKernel()).unavailable_reason(CPU, "bf16") is None
    assert on_cpu(FA4, TokensFirstKernel(returns_lse=True)).unavailable_reason(CPU, "fp32") is None


def test_the_probe_catches_a_kernel_that_reads_the_wrong_layout() -> None:
    reason = on_cpu(FA2, heads_first_kernel, layout=Layout.TOKENS_FIRST, scale_keyword="scale").unavailable_reason(
        CPU, "fp32"
    )
    assert reason is not None
    assert reason.startswith("fa2 computes wrong fp32 attention on cpu: max abs error ")


def test_the_probe_reports_a_kernel_failure_in_one_line() -> None:
    def failing(q, k, v, softmax_scale=None):
        raise AssertionError("Unsupported compute capability. Supported: 9.x, 10.x, 11.x\nsecond line")

    reason = on_cpu(FA4, failing).unavailable_reason(CPU, "bf16")
    assert reason == (
        "fa4 cannot run bf16 on cpu: AssertionError: Unsupported compute capability. Supported: 9.x, 10.x, 11.x"
    )
    assert F.scaled_dot_product_attention is PYTORCH_SDPA


def test_versions_are_empty_when_missing_and_torchs_for_flex() -> None:
    absent = [dataclasses.replace(b, distribution=f"{b.distribution}-not-a-real-distribution") for b in (FA2, FA3, FA4)]
    assert [backend.version() for backend in absent] == ["", "", ""]
    assert FLEX.version() == torch.__version__


@pytest.mark.parametrize("backend", [FA2, FA3, FA4], ids=lambda backend: backend.name)
def test_each_flash_attention_resolves_flash_attn_func_from_its_module_when_routed(
    monkeypatch: pytest.MonkeyPatch, backend: RoutedBackend
) -> None:
    kernel = TokensFirstKernel()
    module = KERNEL_MODULES[backend.name]
    monkeypatch.setitem(sys.modules, module, types.SimpleNamespace(flash_attn_func=kernel))
    assert backend.load() is kernel
    with backend.activate():
        assert routes_to(kernel)


def test_flex_resolves_pytorchs_flex_attention() -> None:
    from torch.nn.attention.flex_attention import flex_attention

    assert FLEX.load() is flex_attention


def test_importing_the_registry_imports_no_kernel_library(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in KERNEL_MODULES.values():
        monkeypatch.setitem(sys.modules, module, None)  # any import of them now raises
    spec = importlib.util.spec_from_file_location("perf_libraries_fresh", perf.backends.libraries.__file__)
    assert spec is not None and spec.loader is not None
    fresh = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "perf_libraries_fresh", fresh)
    spec.loader.exec_module(fresh)
    assert [backend.name for backend in fresh.ROUTED_BACKENDS] == ["fa2", "fa3", "fa4", "flex"]


# ---------------------------------------------------------------- kernel-name patterns

# Names as a profiler reports them. Observed on an H100 (docs/measurements/2026-11-26-h100/kernels-attention.json):
# PyTorch's own kernels and flex. Derived from the FlashAttention source (templates and class names): the rest.
OBSERVED_PYTORCH_KERNELS = [
    "void pytorch_flash::flash_fwd_kernel<Flash_fwd_kernel_traits<64, 128, 128, 4, false, false, cutlass::bfloat16_t, "
    "Flash_kernel_traits<64, 128, 128, 4, cutlass::bfloat16_t> >, false, false, false, false",
    "cudnn_generated_fort_native_sdpa_sm90_flash_fprop_wgmma_f16_knob_7_64x128x64_4x1x1_cga1x1x1_kernel0_0",
    "fmha_cutlassF_bf16_aligned_64x64_rf_sm80(PyTorchMemEffAttention::AttentionKernel<cutlass::bfloat16_t, "
    "cutlass::arch::Sm80, true, 64, 64, 64, true, true>::Params)",
    "void (anonymous namespace)::softmax_warp_forward<float, float, float, 10, false, false>(float*, float const*, "
    "int, int, int, bool const*, int, bool)",
]
KERNEL_NAMES = {
    "fa2": [
        "void flash::flash_fwd_kernel<Flash_fwd_kernel_traits<64, 128, 128, 4, false, false, cutlass::bfloat16_t, "
        "Flash_kernel_traits<64, 128, 128, 4, cutlass::bfloat16_t> >, false, false, false, false, true, true, false, "
        "false>(flash::Flash_fwd_params)",
        "void flash::flash_fwd_splitkv_kernel<Flash_fwd_kernel_traits<64, 64, 256, 4, false, false, "
        "cutlass::bfloat16_t>, false, false, false, true, true, false, true, false>(flash::Flash_fwd_params)",
    ],
    "fa3": [
        "void cutlass::device_kernel<flash::enable_sm90<flash::FlashAttnFwdSm90<flash::CollectiveMainloopFwdSm90<2, "
        "cute::tuple<cute::C<1>, cute::C<1>, cute::C<1> >, cute::tuple<cute::C<192>, cute::C<128>, cute::C<64> >, 64, "
        "cutlass::bfloat16_t, float, cutlass::arch::Sm90, false, false, false, false, false, false, false, false, "
        "true, true, false, false, false>, flash::CollectiveEpilogueFwd<>, flash::StaticPersistentTileScheduler<false> "
        "> > >(flash::FlashAttnFwdSm90<>::Params)",
        "void flash::compute_attn_ws<Flash_fwd_kernel_traits<64, 192, 128, 16, 2, false, 1, cutlass::bfloat16_t>, "
        "false, flash::StaticPersistentTileScheduler, flash::FixedSeqLenTraits>(...)",
        "void cutlass::device_kernel<flash::FlashAttnFwdCombine<cute::tuple<cute::C<8>, cute::C<64> >, 5, 256, 1, "
        "false, false, cutlass::bfloat16_t, float, cutlass::arch::Sm90> >(flash::FlashAttnFwdCombine<>::Params)",
    ],
    "fa4": [
        "kernel_cutlass_kernel_flash_attncuteflash_fwd_sm100FlashAttentionForwardSm100_object_at__tensor0000o1110121"
        "3_..._0",
        "kernel_cutlass_kernel_flash_attncuteflash_fwdFlashAttentionForwardSm90_object_at__tensor0000o11101213_..._0",
        "flash_fwd_sm100_bf16_head_dim128_tile128x128_threads384_kernel_cutlass_kernel_flash_attncuteflash_fwd_sm100"
        "FlashAttentionForwardSm100_object_at__tensor0000o11101213_..._0",
        "kernel_cutlass_kernel_flash_attncuteflash_fwd_combineFlashAttentionForwardCombine_object_at__tensor_..._0",
    ],
    "flex": ["triton_tem_fused__to_copy_flex_attention_ones_slice_sort_sum_transpose_zeros_2"],
}


@pytest.mark.parametrize("backend", ROUTED_BACKENDS, ids=lambda backend: backend.name)
def test_the_kernel_pattern_matches_its_kernels_and_no_other_backends(backend: RoutedBackend) -> None:
    pattern = re.compile(backend.kernel_pattern)
    assert all(pattern.search(name) for name in KERNEL_NAMES[backend.name])
    others = [name for other, names in KERNEL_NAMES.items() if other != backend.name for name in names]
    assert not [name for name in [*others, *OBSERVED_PYTORCH_KERNELS] if pattern.search(name)]
