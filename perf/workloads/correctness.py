"""Whether a backend computes the right thing: its output against a reference, before its timings count."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

# Relative L2 error of one attention call against SDPA math on float32 copies of the same inputs. The inputs
# are identical, so the error is the kernel's own: rounding its output to the dtype (measured on a CPU at VGGT's
# head dim: 1.7e-3 in bf16, 2.1e-4 in fp16, 0.4x the unit roundoff u = 2^-8 and 2^-11) plus rounding the
# probabilities before P @ V (CPU fused kernel: 2.2e-3 and 2.8e-4 in all; FlexAttention on the H100 in bf16:
# max abs 1.9e-3, docs/measurements/2026-11-26-h100). A wrong layout (k and v swapped, heads and tokens swapped)
# is off by 1.0 to 1.4. Tolerance 5u, rounded: about 10x the error of a right kernel, 50x below a wrong layout.
# fp32 kernels differ from math only in summation order (4e-7 on the CPU); 1e-4 leaves room for long global
# attention, but not for TF32 in the reference's matmuls (about 1e-3), which PyTorch leaves off unless a caller
# turns it on.
ATTENTION_TOLERANCE = {"bf16": 2e-2, "fp16": 2.5e-3, "fp32": 1e-4}

# Relative L2 error of the whole VGGT aggregator (24 frame and 24 global blocks) against the default backend's
# output in the same precision: each block adds its attention error to the residual stream and the MLPs and
# later attention can amplify it, so allow 2.5x (bf16) to 10x (fp32) one call's tolerance. Measured in bf16 on the
# H100 (docs/measurements/2026-11-27-h100-backends), 1 to 200 frames at 350x518, against cuDNN's output: every
# other backend, sdpa-math included, lands at 1.25e-2 to 1.35e-2 (bf16 rounding through 48 blocks), so 5e-2 is
# 3.7x the error of a right kernel. fp16 and fp32 are not measured on a GPU yet.
MODEL_TOLERANCE = {"bf16": 5e-2, "fp16": 1e-2, "fp32": 1e-3}

# Elements compared at a time: 128 MiB per float64 temporary.
COMPARE_CHUNK_ELEMENTS = 1 << 24


@dataclass(frozen=True)
class Accuracy:
    """How far an output is from its reference: relative L2 error, largest absolute error, and the tolerance."""

    relative_error: float
    max_abs_error: float
    tolerance: float

    @property
    def ok(self) -> bool:
        """Within tolerance; NaN or infinity never is."""
        return math.isfinite(self.relative_error) and self.relative_error <= self.tolerance

    def describe(self) -> str:
        """One line for a skip or failure reason."""
        return (
            f"relative error {self.relative_error:.1e} (max abs {self.max_abs_error:.1e}),"
            f" tolerance {self.tolerance:.1e}"
        )


def compare_outputs(
    output: torch.Tensor | Sequence[torch.Tensor], reference: torch.Tensor | Sequence[torch.Tensor], tolerance: float
) -> Accuracy:
    """Accuracy of output against reference, in float64 on the output's device so the comparison adds no error.

    A sequence (the aggregator's 24 token tensors, attention's two calls) counts as one vector, its flattened
    tensors concatenated; the norms are summed pair by pair, so no float64 copy of the whole output is made.
    Shapes must match tensor by tensor: a ValueError names both, never a broadcast.
    """
    outputs, references = as_tensor_list(output), as_tensor_list(reference)
    output_shapes, reference_shapes = [tuple(t.shape) for t in outputs], [tuple(t.shape) for t in references]
    if output_shapes != reference_shapes:
        raise ValueError(f"output shape(s) {output_shapes} differ from reference shape(s) {reference_shapes}")
    if not outputs:
        raise ValueError("nothing to compare: output and reference are empty sequences")
    errors = torch.stack([_pair_errors(out, ref) for out, ref in zip(outputs, references, strict=True)])
    squared_error, squared_reference = errors[:, :2].sum(dim=0).tolist()
    max_abs = errors[:, 2].max().item()
    return Accuracy(_relative(math.sqrt(squared_error), math.sqrt(squared_reference)), max_abs, tolerance)


def attention_reference(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """SDPA's math kernel on float32 copies of q, k, v: the unfused definition, in more precision than the kernels.

    Autocast is off inside, or a caller's bf16 autocast region would round the reference back down.
    """
    with torch.no_grad(), torch.autocast(q.device.type, enabled=False), sdpa_kernel(SDPBackend.MATH):
        return F.scaled_dot_product_attention(q.float(), k.float(), v.float())


def as_tensor_list(tensors: torch.Tensor | Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """One tensor or a sequence of them (the shapes a workload's output takes) as a list."""
    return [tensors] if isinstance(tensors, torch.Tensor) else list(tensors)


def _pair_errors(output: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """[squared L2 error, squared L2 norm of the reference, max abs error] of one tensor pair, in float64.

    Chunk by chunk, so the float64 temporaries stay small whatever the output's size (the aggregator's last layer
    at 200 frames of 518x518 is 0.56 G elements). NaN or infinity propagates into every total it touches, so
    such an output is never ok.
    """
    output_flat, reference_flat = output.detach().reshape(-1), reference.detach().reshape(-1)
    totals = torch.zeros(3, dtype=torch.float64, device=output.device)
    for start in range(0, output_flat.numel(), COMPARE_CHUNK_ELEMENTS):
        chunk = slice(start, start + COMPARE_CHUNK_ELEMENTS)
        output64 = output_flat[chunk].to(torch.float64)
        reference64 = reference_flat[chunk].to(output.device, torch.float64)
        difference = output64 - reference64
        totals[0] += difference.square().sum()
        totals[1] += reference64.square().sum()
        totals[2] = torch.maximum(totals[2], difference.abs().max())
    return totals


def _relative(error_norm: float, reference_norm: float) -> float:
    """error / reference; a zero reference is matched only exactly (0), else infinitely far."""
    if reference_norm > 0:
        return error_norm / reference_norm
    return 0.0 if error_norm == 0 else math.inf
