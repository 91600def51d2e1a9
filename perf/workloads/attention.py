"""The attention workload: one VGGT block's frame and global attention calls at exact shapes."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from perf.core.results import PATCH_SIZE, CaseKey, Resolution
from perf.hardware.device import DTYPES, reduced_precision
from perf.workloads.correctness import ATTENTION_TOLERANCE, attention_reference
from perf.workloads.runtime import Prepared, Reference, Runtime

SPECIAL_TOKENS = 5  # one camera token and four register tokens per frame
HEADS = 16
HEAD_DIM = 64
CHECKED_QUERY_ROWS = 256


def tokens_per_frame(resolution: Resolution) -> int:
    """P = (H/14)(W/14) + 5."""
    return (resolution.height // PATCH_SIZE) * (resolution.width // PATCH_SIZE) + SPECIAL_TOKENS


def attention_shapes(frames: int, resolution: Resolution) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(frame attention [S, 16, P, 64], global attention [1, 16, S*P, 64]) as VGGT's blocks call SDPA."""
    tokens = tokens_per_frame(resolution)
    return (frames, HEADS, tokens, HEAD_DIM), (1, HEADS, frames * tokens, HEAD_DIM)


def checked_rows(tokens: int, device: torch.device) -> torch.Tensor:
    """Evenly spaced query rows whose output is checked: float32 math over all rows of a 200-frame global
    attention would need terabytes, and a wrong kernel is wrong on every row."""
    return torch.linspace(0, tokens - 1, min(tokens, CHECKED_QUERY_ROWS), device=device).long()


def prepare_attention(key: CaseKey, runtime: Runtime) -> Prepared:
    runtime.models.release()  # VGGT's weights resident from an earlier case would count in this peak memory
    dtype = reduced_precision(runtime.device)
    tensors = [
        [torch.randn(shape, device=runtime.device, dtype=DTYPES[dtype]) for _ in "qkv"]
        for shape in attention_shapes(key.frames, key.resolution)
    ]
    rows = [checked_rows(q.shape[-2], runtime.device) for q, _, _ in tensors]

    def forward() -> object:
        with torch.inference_mode():
            return [F.scaled_dot_product_attention(q, k, v) for q, k, v in tensors]

    def expected() -> list[torch.Tensor]:
        return [attention_reference(q[..., r, :], k, v) for (q, k, v), r in zip(tensors, rows, strict=True)]

    def select(outputs: object) -> list[torch.Tensor]:
        shapes = [tuple(out.shape) for out in outputs]  # type: ignore[attr-defined]
        if shapes != [tuple(q.shape) for q, _, _ in tensors]:  # before indexing: a bad index asserts on the GPU
            raise ValueError(f"attention outputs shaped {shapes}, expected those of q")
        return [out[..., r, :] for out, r in zip(outputs, rows, strict=True)]  # type: ignore[call-overload]

    return Prepared(forward, dtype, Reference(expected, select, ATTENTION_TOLERANCE[dtype]))
