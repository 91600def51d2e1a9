"""Correctness gate: real SDPA outputs on the CPU pass against the math reference, wrong layouts and NaN fail."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import perf.workloads.correctness
from perf.hardware.device import DTYPES
from perf.workloads.correctness import (
    ATTENTION_TOLERANCE,
    MODEL_TOLERANCE,
    Accuracy,
    attention_reference,
    compare_outputs,
)

# VGGT's frame attention at the smoke profile's size: 2 frames, 16 heads, 122 tokens (126x182), head dim 64.
FRAME_SHAPE = (2, 16, 122, 64)
# A wrong layout is off by about 1 to 1.4 (measured); a right one below the tolerance. Demand a wide gap.
WIDE_MARGIN = 10


def qkv(shape: tuple[int, ...], dtype: str, seed: int = 0) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=generator).to(DTYPES[dtype]) for _ in "qkv"]


def test_identical_outputs_have_zero_error_and_pass() -> None:
    output = torch.randn(FRAME_SHAPE)
    assert compare_outputs(output, output.clone(), 0.0) == Accuracy(0.0, 0.0, 0.0)
    assert Accuracy(0.0, 0.0, 0.0).ok


@pytest.mark.parametrize("dtype", ["bf16", "fp16", "fp32"])
def test_sdpa_output_in_reduced_precision_is_within_the_attention_tolerance(dtype: str) -> None:
    q, k, v = qkv(FRAME_SHAPE, dtype)
    accuracy = compare_outputs(F.scaled_dot_product_attention(q, k, v), attention_reference(q, k, v), 0.0)
    assert 0 < accuracy.relative_error <= ATTENTION_TOLERANCE[dtype] / 4  # rounding is seen, and well inside


def test_bf16_rounded_reference_passes_the_bf16_tolerance() -> None:
    reference = attention_reference(*qkv(FRAME_SHAPE, "bf16"))
    accuracy = compare_outputs(reference.to(torch.bfloat16), reference, ATTENTION_TOLERANCE["bf16"])
    assert accuracy.ok
    assert accuracy.max_abs_error <= 2**-8  # half an ulp of values below 1 in bf16


@pytest.mark.parametrize(
    "mistake",
    [
        lambda q, k, v: F.scaled_dot_product_attention(q, v, k),
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(q.shape),
        lambda q, k, v: F.scaled_dot_product_attention(*(t.transpose(1, 2) for t in (q, k, v))).transpose(1, 2),
    ],
    ids=["k-and-v-swapped", "heads-and-tokens-swapped-in-output", "attention-over-heads-not-tokens"],
)
def test_wrong_layout_fails_by_a_wide_margin(mistake: Callable[..., torch.Tensor]) -> None:
    q, k, v = qkv(FRAME_SHAPE, "bf16")
    accuracy = compare_outputs(mistake(q, k, v), attention_reference(q, k, v), ATTENTION_TOLERANCE["bf16"])
    assert not accuracy.ok
    assert accuracy.relative_error > WIDE_MARGIN * ATTENTION_TOLERANCE["bf16"]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_or_infinite_output_is_never_ok(bad: float) -> None:
    reference = torch.randn(FRAME_SHAPE)
    output = reference.clone()
    output[0, 0, 0, 0] = bad
    accuracy = compare_outputs(output, reference, math.inf)
    assert not accuracy.ok
    assert "nan" in accuracy.describe() or "inf" in accuracy.describe()


def test_nan_in_the_reference_is_never_ok() -> None:
    output = torch.randn(FRAME_SHAPE)
    reference = output.clone()
    reference[1, 2, 3, 4] = math.nan
    assert not compare_outputs(output, reference, math.inf).ok


@pytest.mark.parametrize(
    ("output", "reference"),
    [
        (torch.zeros(2, 16, 122, 64), torch.zeros(2, 122, 16, 64)),
        ([torch.zeros(2, 3)], [torch.zeros(2, 3), torch.zeros(2, 3)]),
        ([torch.zeros(2, 3), torch.zeros(6)], [torch.zeros(2, 3), torch.zeros(2, 3)]),
    ],
    ids=["transposed", "fewer-tensors", "same-numel-other-shape"],
)
def test_shape_mismatch_raises_value_error_naming_both(output: object, reference: object) -> None:
    with pytest.raises(ValueError, match=r"output shape\(s\) \[.*\] differ from reference shape\(s\) \[.*\]"):
        compare_outputs(output, reference, 1.0)  # type: ignore[arg-type]


def test_empty_sequence_raises_value_error() -> None:
    with pytest.raises(ValueError, match="nothing to compare"):
        compare_outputs([], [], 1.0)


def test_a_sequence_counts_as_its_flattened_tensors_concatenated() -> None:
    outputs, references = [torch.randn(3, 4), torch.randn(5)], [torch.randn(3, 4), torch.randn(5)]
    together = compare_outputs(outputs, references, 1.0)
    flat = compare_outputs(
        torch.cat([t.reshape(-1) for t in outputs]), torch.cat([t.reshape(-1) for t in references]), 1
    )
    assert together.relative_error == pytest.approx(flat.relative_error, rel=1e-12)
    assert together.max_abs_error == flat.max_abs_error


def test_errors_are_relative_l2_and_max_abs() -> None:
    accuracy = compare_outputs(torch.tensor([3.0, 4.0 + 0.5]), torch.tensor([3.0, 4.0]), 0.1)
    assert accuracy == Accuracy(0.1, 0.5, 0.1)
    assert accuracy.ok
    assert not Accuracy(0.1 + 1e-9, 0.5, 0.1).ok


def test_zero_reference_is_matched_only_by_zero() -> None:
    assert compare_outputs(torch.zeros(4), torch.zeros(4), 0.0).ok
    assert compare_outputs(torch.full((4,), 1e-30), torch.zeros(4), 1e6).relative_error == math.inf


def test_describe_is_one_line_with_error_max_abs_and_tolerance() -> None:
    assert Accuracy(3.1e-3, 1.9e-3, 2e-2).describe() == "relative error 3.1e-03 (max abs 1.9e-03), tolerance 2.0e-02"


def test_reference_is_float32_math_even_under_bf16_autocast() -> None:
    q, k, v = qkv((1, 2, 8, 16), "bf16")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        reference = attention_reference(q, k, v)
    scores = (q.float() @ k.float().transpose(-1, -2) / math.sqrt(16)).softmax(dim=-1)
    assert reference.dtype == torch.float32
    torch.testing.assert_close(reference, scores @ v.float(), rtol=1e-5, atol=1e-6)


def test_tolerances_cover_every_dtype_and_the_model_is_looser_than_one_call() -> None:
    assert set(ATTENTION_TOLERANCE) == set(MODEL_TOLERANCE) == set(DTYPES)
    assert all(MODEL_TOLERANCE[dtype] > ATTENTION_TOLERANCE[dtype] for dtype in DTYPES)


@settings(max_examples=40, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 2), st.integers(1, 4), st.integers(8, 32), st.integers(8, 32)),
    dtype=st.sampled_from(sorted(DTYPES)),
    seed=st.integers(0, 2**31 - 1),
)
def test_kernel_output_passes_and_permuted_tokens_fail(shape: tuple[int, ...], dtype: str, seed: int) -> None:
    q, k, v = qkv(shape, dtype, seed)
    output, reference = F.scaled_dot_product_attention(q, k, v), attention_reference(q, k, v)
    assert compare_outputs(output, reference, ATTENTION_TOLERANCE[dtype]).ok
    permuted = compare_outputs(output.roll(1, dims=-2), reference, ATTENTION_TOLERANCE[dtype])
    assert permuted.relative_error > WIDE_MARGIN * ATTENTION_TOLERANCE[dtype]


def test_chunked_comparison_equals_the_whole_one(monkeypatch: pytest.MonkeyPatch) -> None:
    output = torch.randn(3, 50)
    reference = output + 0.01 * torch.randn(3, 50)
    whole = compare_outputs(output, reference, 1.0)
    monkeypatch.setattr(perf.workloads.correctness, "COMPARE_CHUNK_ELEMENTS", 7)  # 150 elements in 22 chunks
    chunked = compare_outputs(output, reference, 1.0)
    assert chunked.relative_error == pytest.approx(whole.relative_error, rel=1e-12)
    assert chunked.max_abs_error == whole.max_abs_error
    output[2, 49] = float("nan")  # in the last, partial chunk
    assert not compare_outputs(output, reference, 1.0).ok
