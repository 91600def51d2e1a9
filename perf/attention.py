"""The attention workload: one VGGT block's frame and global attention calls at exact shapes."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from perf.device import DTYPES, reduced_precision
from perf.results import CaseKey, Resolution
from perf.runtime import Prepared, Runtime

PATCH_SIZE = 14  # VGGT's DINOv2 ViT-L/14 patch embed
SPECIAL_TOKENS = 5  # one camera token and four register tokens per frame
HEADS = 16
HEAD_DIM = 64


def tokens_per_frame(resolution: Resolution) -> int:
    """P = (H/14)(W/14) + 5."""
    return (resolution.height // PATCH_SIZE) * (resolution.width // PATCH_SIZE) + SPECIAL_TOKENS


def attention_shapes(frames: int, resolution: Resolution) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(frame attention [S, 16, P, 64], global attention [1, 16, S*P, 64]) as VGGT's blocks call SDPA."""
    tokens = tokens_per_frame(resolution)
    return (frames, HEADS, tokens, HEAD_DIM), (1, HEADS, frames * tokens, HEAD_DIM)


def prepare_attention(key: CaseKey, runtime: Runtime) -> Prepared:
    dtype = reduced_precision(runtime.device)
    tensors = [
        [torch.randn(shape, device=runtime.device, dtype=DTYPES[dtype]) for _ in "qkv"]
        for shape in attention_shapes(key.frames, key.resolution)
    ]

    def forward() -> object:
        with torch.inference_mode():
            return [F.scaled_dot_product_attention(q, k, v) for q, k, v in tensors]

    return Prepared(forward, dtype)
