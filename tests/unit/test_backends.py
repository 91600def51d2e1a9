"""The SDPA backend registry on a CPU: which backends run here, why the others do not, and that activate() restores."""

from __future__ import annotations

import contextlib
import math

import pytest
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from perf.backends.registry import BACKENDS
from perf.backends.sdpa import SDPA_BACKENDS, SdpaBackend

CPU = torch.device("cpu")
# What a CPU-only torch can run: the fused GPU kernels (memory-efficient, cuDNN) are CUDA kernels.
RUNS_ON_CPU = {"sdpa-default", "sdpa-math", "sdpa-flash"}


def sdpa_flags() -> dict[str, bool]:
    """The global switches sdpa_kernel sets; every one is on outside any context."""
    switches = torch.backends.cuda
    return {
        "flash": switches.flash_sdp_enabled(),
        "efficient": switches.mem_efficient_sdp_enabled(),
        "math": switches.math_sdp_enabled(),
        "cudnn": switches.cudnn_sdp_enabled(),
    }


ALL_ON = {"flash": True, "efficient": True, "math": True, "cudnn": True}
FORCED_FLAG = {"sdpa-math": "math", "sdpa-efficient": "efficient", "sdpa-flash": "flash", "sdpa-cudnn": "cudnn"}


def vggt_shaped(seed: int = 0, value_dim: int = 64) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    q, k = (torch.randn(1, 2, 24, 64, generator=generator) for _ in "qk")
    return q, k, torch.randn(1, 2, 24, value_dim, generator=generator)


def reference(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1) @ v


SDPA_NAMES = [backend.name for backend in SDPA_BACKENDS]  # the routed libraries have their own tests (test_kernels)


@pytest.fixture(autouse=True)
def all_kernels_allowed() -> None:
    assert sdpa_flags() == ALL_ON, "an earlier test left an SDPA kernel restriction behind"


def test_the_registry_is_keyed_by_name_and_every_backend_is_described() -> None:
    assert list(BACKENDS) == [
        *("sdpa-default", "sdpa-math", "sdpa-efficient", "sdpa-flash", "sdpa-cudnn"),
        *("fa2", "fa3", "fa4", "flex"),
    ]
    assert all(name == backend.name for name, backend in BACKENDS.items())
    assert all(backend.summary and "\n" not in backend.summary for backend in BACKENDS.values())
    assert BACKENDS["sdpa-default"].kernel is None
    assert BACKENDS["sdpa-math"].kernel == SDPBackend.MATH


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("sdpa-default", None),
        ("sdpa-math", None),
        ("sdpa-flash", None),  # PyTorch has a CPU flash-attention kernel
        ("sdpa-efficient", "sdpa-efficient runs on cuda only, this run is on cpu"),
        ("sdpa-cudnn", "sdpa-cudnn runs on cuda only, this run is on cpu"),
    ],
)
def test_a_backend_says_in_one_line_why_it_cannot_run_on_a_cpu(name: str, reason: str | None) -> None:
    assert BACKENDS[name].unavailable_reason(CPU, "fp32") == reason


@pytest.mark.parametrize("name", SDPA_NAMES)
def test_no_reason_exactly_for_the_backends_that_run_here(name: str) -> None:
    """The reason agrees with what happens when the kernel is forced for a VGGT-shaped call on this CPU."""
    q, k, v = vggt_shaped()
    try:
        kernel = BACKENDS[name].kernel
        with sdpa_kernel(kernel) if kernel is not None else contextlib.nullcontext():
            output = F.scaled_dot_product_attention(q, k, v)
    except RuntimeError:
        runs = False
    else:
        runs = True
        torch.testing.assert_close(output, reference(q, k, v), rtol=1e-4, atol=1e-5)
    assert runs == (name in RUNS_ON_CPU)
    reason = BACKENDS[name].unavailable_reason(CPU, "fp32")
    assert (reason is None) == runs
    if reason is not None:
        assert reason.startswith(f"{name} ")
        assert "\n" not in reason


def test_the_probe_reports_pytorchs_refusal_in_one_line() -> None:
    # The memory-efficient kernel claimed for the CPU: the device check passes and the probe call fails.
    anywhere = SdpaBackend("efficient-anywhere", "test", SDPBackend.EFFICIENT_ATTENTION, frozenset({"cpu", "cuda"}))
    reason = anywhere.unavailable_reason(CPU, "fp32")
    assert reason is not None
    assert reason.startswith("efficient-anywhere cannot run fp32 on cpu: ")
    assert len(reason) > len("efficient-anywhere cannot run fp32 on cpu: ")
    assert "\n" not in reason
    assert sdpa_flags() == ALL_ON


@pytest.mark.parametrize("name", SDPA_NAMES)
def test_activate_restores_every_switch_after_an_error_inside(name: str) -> None:
    with pytest.raises(KeyError, match="inside"), BACKENDS[name].activate():
        if name in FORCED_FLAG:
            assert sdpa_flags() == {flag: flag == FORCED_FLAG[name] for flag in ALL_ON}  # only the forced kernel
        else:
            assert sdpa_flags() == ALL_ON  # PyTorch's own choice: nothing forced
        raise KeyError("inside")
    assert sdpa_flags() == ALL_ON


def test_after_a_math_only_block_fails_pytorchs_default_dispatch_is_back() -> None:
    q, k, v = vggt_shaped(1)
    with pytest.raises(RuntimeError, match="boom"), BACKENDS["sdpa-math"].activate():
        assert sdpa_flags() == {"flash": False, "efficient": False, "math": True, "cudnn": False}
        F.scaled_dot_product_attention(q, k, v)
        raise RuntimeError("boom")
    assert sdpa_flags() == ALL_ON
    torch.testing.assert_close(F.scaled_dot_product_attention(q, k, v), reference(q, k, v), rtol=1e-4, atol=1e-5)


def test_after_sdpa_itself_fails_inside_a_block_the_same_call_runs_outside() -> None:
    # On a CPU every call under the memory-efficient kernel fails: the error comes from SDPA, not from the test.
    q, k, v = vggt_shaped(2)
    with pytest.raises(RuntimeError, match=r"(?i)no viable backend|no available kernel"):  # noqa: SIM117
        with BACKENDS["sdpa-efficient"].activate():
            F.scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(F.scaled_dot_product_attention(q, k, v), reference(q, k, v), rtol=1e-4, atol=1e-5)


@pytest.mark.filterwarnings("ignore:Flash attention:UserWarning")  # PyTorch says why flash refused
def test_after_a_flash_only_block_a_call_flash_rejects_runs_again() -> None:
    q, k, v = vggt_shaped(3, value_dim=32)  # CPU flash needs one head dim for q, k and v; math does not
    with pytest.raises(RuntimeError, match="No available kernel"):  # noqa: SIM117
        with BACKENDS["sdpa-flash"].activate():
            F.scaled_dot_product_attention(q, k, v)
    output = F.scaled_dot_product_attention(q, k, v)
    assert tuple(output.shape) == (1, 2, 24, 32)
    torch.testing.assert_close(output, reference(q, k, v), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["sdpa-default", "sdpa-flash"])
def test_activate_inside_another_restriction_restores_that_restriction(name: str) -> None:
    with sdpa_kernel(SDPBackend.MATH):
        math_only = sdpa_flags()
        with pytest.raises(ValueError), BACKENDS[name].activate():
            raise ValueError
        assert sdpa_flags() == math_only
    assert sdpa_flags() == ALL_ON
