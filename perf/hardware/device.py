"""Which device a run measures and which reduced precision it computes in there."""

from __future__ import annotations

import torch

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}


def select_device() -> torch.device:
    """The first CUDA GPU when torch sees one (pin another with CUDA_VISIBLE_DEVICES), else the CPU."""
    return torch.device("cuda", 0) if torch.cuda.is_available() else torch.device("cpu")


def reduced_precision(device: torch.device) -> str:
    """bf16 where the GPU has it, fp16 on older GPUs (V100), fp32 on a CPU, where bf16 attention is slow."""
    if device.type != "cuda":
        return "fp32"
    return "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp16"


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so a host clock read afterwards includes it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
