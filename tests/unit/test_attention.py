"""The attention workload: VGGT's token counts, its two SDPA shapes, and a real forward on the CPU."""

from __future__ import annotations

import math
import types

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from perf.backends.registry import BACKENDS
from perf.core.results import CaseKey, Resolution
from perf.workloads.attention import attention_shapes, prepare_attention, tokens_per_frame
from perf.workloads.runtime import Runtime
from perf.workloads.vggt import VggtModels

CPU_RUNTIME = Runtime(torch.device("cpu"), VggtModels(torch.device("cpu"), None))  # builds no model: attention


@pytest.mark.parametrize(
    ("resolution", "tokens"),
    [
        (Resolution(350, 518), 25 * 37 + 5),  # 930: VGGT's example images
        (Resolution(518, 518), 37 * 37 + 5),  # 1374: its largest input
        (Resolution(126, 182), 9 * 13 + 5),  # the smoke profile
        (Resolution(14, 14), 6),
        (Resolution(28, 42), 2 * 3 + 5),
    ],
    ids=str,
)
def test_tokens_per_frame_are_patches_plus_camera_and_register_tokens(resolution: Resolution, tokens: int) -> None:
    assert tokens_per_frame(resolution) == tokens


@pytest.mark.parametrize(
    ("frames", "resolution", "frame_shape", "global_shape"),
    [
        (20, Resolution(350, 518), (20, 16, 930, 64), (1, 16, 20 * 930, 64)),
        (1, Resolution(518, 518), (1, 16, 1374, 64), (1, 16, 1374, 64)),
        (200, Resolution(518, 518), (200, 16, 1374, 64), (1, 16, 274_800, 64)),
    ],
)
def test_frame_attention_is_per_frame_and_global_attention_spans_all_frames(
    frames: int, resolution: Resolution, frame_shape: tuple[int, ...], global_shape: tuple[int, ...]
) -> None:
    assert attention_shapes(frames, resolution) == (frame_shape, global_shape)


@settings(max_examples=50, deadline=None)
@given(frames=st.integers(1, 500), height=st.integers(14, 1036), width=st.integers(14, 1036))
def test_both_attention_calls_see_the_same_tokens(frames: int, height: int, width: int) -> None:
    frame_shape, global_shape = attention_shapes(frames, Resolution(height, width))
    tokens = tokens_per_frame(Resolution(height, width))
    assert frame_shape == (frames, 16, tokens, 64)
    assert global_shape == (1, 16, frames * tokens, 64)
    assert math.prod(frame_shape) == math.prod(global_shape)


def reference_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
    return weights @ v


def test_prepare_attention_runs_both_calls_on_the_cpu() -> None:
    key = CaseKey("attention", "sdpa-math", 3, Resolution(28, 42))
    torch.manual_seed(1234)
    prepared = prepare_attention(key, CPU_RUNTIME)
    assert prepared.dtype == "fp32"  # a CPU computes in fp32

    frame_out, global_out = prepared.forward()  # type: ignore[misc]
    assert tuple(frame_out.shape) == (3, 16, 11, 64)
    assert tuple(global_out.shape) == (1, 16, 33, 64)
    assert frame_out.dtype == global_out.dtype == torch.float32
    assert frame_out.is_inference() and global_out.is_inference()

    # The same seed draws the same q, k, v in the same order: the outputs are attention over them.
    torch.manual_seed(1234)
    inputs = [[torch.randn(shape) for _ in "qkv"] for shape in attention_shapes(3, Resolution(28, 42))]
    torch.testing.assert_close(frame_out, reference_attention(*inputs[0]), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(global_out, reference_attention(*inputs[1]), rtol=1e-4, atol=1e-5)


def test_the_inputs_are_drawn_once_and_every_forward_reuses_them() -> None:
    prepared = prepare_attention(CaseKey("attention", "sdpa-math", 2, Resolution(14, 14)), CPU_RUNTIME)
    first = prepared.forward()
    torch.randn(1000)  # moving the generator must not change what a forward computes
    second = prepared.forward()
    for a, b in zip(first, second, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("backend", ["sdpa-default", "sdpa-math", "sdpa-flash"])
def test_each_cpu_backend_computes_the_same_attention(backend: str) -> None:
    torch.manual_seed(7)
    prepared = prepare_attention(CaseKey("attention", backend, 2, Resolution(28, 28)), CPU_RUNTIME)
    with BACKENDS[backend].activate():
        outputs = prepared.forward()
    torch.manual_seed(7)
    for output, shape in zip(outputs, attention_shapes(2, Resolution(28, 28)), strict=True):
        q, k, v = (torch.randn(shape) for _ in "qkv")
        torch.testing.assert_close(output, reference_attention(q, k, v), rtol=1e-4, atol=1e-5)


def test_preparing_attention_frees_the_gpu_of_vggts_weights() -> None:
    released: list[bool] = []
    models = types.SimpleNamespace(release=lambda: released.append(True))
    prepare_attention(CaseKey("attention", "sdpa-math", 1, Resolution(28, 28)), Runtime(torch.device("cpu"), models))
    assert released == [True]


def test_an_output_of_the_wrong_shape_is_refused_before_it_is_indexed() -> None:
    prepared = prepare_attention(CaseKey("attention", "sdpa-math", 2, Resolution(28, 28)), CPU_RUNTIME)
    assert prepared.reference is not None
    outputs = prepared.forward()
    prepared.reference.select(outputs)  # the right shapes pass
    with pytest.raises(ValueError, match="expected those of q"):
        prepared.reference.select([out.transpose(1, 2) for out in outputs])
