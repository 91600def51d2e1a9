"""Which precision a run computes in: bf16 only where the GPU has it natively."""

from __future__ import annotations

import pytest
import torch

from perf.hardware.device import reduced_precision


@pytest.mark.parametrize(("native_bf16", "dtype"), [(True, "bf16"), (False, "fp16")])
def test_a_gpu_without_native_bf16_computes_in_fp16(
    monkeypatch: pytest.MonkeyPatch, native_bf16: bool, dtype: str
) -> None:
    # torch reports emulated bf16 (V100, T4) as supported unless asked for native support only.
    monkeypatch.setattr(
        torch.cuda, "is_bf16_supported", lambda including_emulation=True: including_emulation or native_bf16
    )
    assert reduced_precision(torch.device("cuda", 0)) == dtype


def test_a_cpu_computes_in_fp32() -> None:
    assert reduced_precision(torch.device("cpu")) == "fp32"
