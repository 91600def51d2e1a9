"""Peak GPU memory of a case, and telling a CUDA out-of-memory apart from other failures."""

from __future__ import annotations

import gc

import torch

from perf.core.results import Memory


def reset_peak(device: torch.device) -> None:
    """Free what earlier cases cached, then start the peak counters from what is allocated now."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def read_peak(device: torch.device) -> Memory | None:
    """Peak allocated (what tensors used) and reserved (what the caching allocator held); None off-GPU."""
    if device.type != "cuda":
        return None
    return Memory(torch.cuda.max_memory_allocated(device), torch.cuda.max_memory_reserved(device))


# How allocation failures read when they surface through a library rather than PyTorch's allocator.
_OUT_OF_MEMORY_MARKERS = ("out of memory", "cublas_status_alloc_failed", "cudnn_status_alloc_failed")


def is_out_of_memory(error: BaseException) -> bool:
    message = str(error).lower()
    return isinstance(error, torch.OutOfMemoryError) or any(marker in message for marker in _OUT_OF_MEMORY_MARKERS)
