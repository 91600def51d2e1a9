"""The real VGGT, built once per session, and the forward callables of the vggt-* workloads."""

from __future__ import annotations

import copy
import importlib.util
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from perf.backends.sdpa import SDPA_DEFAULT
from perf.core.results import CaseKey, Resolution
from perf.hardware.device import DTYPES, reduced_precision
from perf.workloads.correctness import MODEL_TOLERANCE, as_tensor_list
from perf.workloads.runtime import Outputs, Prepared, Reference, Runtime

INSTALL_HINT = (
    "pip install -r requirements/vggt.txt (vggt is not on PyPI), or put facebookresearch/vggt's source on PYTHONPATH"
)


class ModelError(Exception):
    """VGGT could not be built or its checkpoint loaded; the message says what to do."""


def vggt_unavailable_reason() -> str | None:
    if importlib.util.find_spec("vggt") is None:
        return f"vggt is not installed ({INSTALL_HINT})"
    return None


def load_checkpoint(model: nn.Module, path: Path) -> None:
    """Load a local state dict without executing pickled code: safetensors, or torch.load(weights_only=True)."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    except Exception as error:  # torch.load, safetensors and load_state_dict raise many types; each is a bad file
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelError(f"--vggt-weights {path}: cannot load a VGGT state dict ({first_line})") from None


class VggtModels:
    """One fp32 VGGT on the host; on the GPU only the variant the current case needs, so peak memory is its own."""

    def __init__(self, device: torch.device, weights: Path | None) -> None:
        self.device = device
        self.weights = weights
        self._host_model: nn.Module | None = None
        self._resident: tuple[str, nn.Module] | None = None
        self._reference: tuple[tuple[str, int, Resolution], Outputs] | None = None

    def remember_reference(self, key: CaseKey, compute: Callable[[], Outputs]) -> Outputs:
        """The reference output of this workload and input: computed on first use, kept for the next backend."""
        input_key = (key.workload, key.frames, key.resolution)
        if self._reference is None or self._reference[0] != input_key:
            self._reference = None  # free the previous input's before computing the next
            self._reference = (input_key, compute())
        return self._reference[1]

    def _host(self) -> nn.Module:
        if self._host_model is None:
            try:
                from vggt.models.vggt import VGGT
            except ImportError as error:
                raise ModelError(f"vggt is not importable ({error}; {INSTALL_HINT})") from None
            model = VGGT()  # random weights: timing does not depend on their values; nothing is downloaded
            if self.weights is not None:
                load_checkpoint(model, self.weights)
            self._host_model = model.eval()
        return self._host_model

    def resident(self, variant: str) -> nn.Module:
        """'aggregator' (reduced-precision copy of the aggregator) or 'model' (the fp32 VGGT), on the device."""
        if self._resident is not None and self._resident[0] == variant:
            return self._resident[1]
        self.release()
        host = self._host()
        if variant == "aggregator":
            aggregator: nn.Module = host.aggregator  # type: ignore[assignment]  # VGGT's submodule, untyped
            module = copy.deepcopy(aggregator).to(self.device, DTYPES[reduced_precision(self.device)])
        else:
            module = host.to(self.device)
        self._resident = (variant, module)
        return module

    def release(self) -> None:
        """Move the fp32 model back to the host or drop the aggregator copy, and free the GPU cache."""
        if self._resident is not None and self._resident[0] == "model":
            self._resident[1].to("cpu")
        self._resident = None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


IMAGES_SEED = 0  # every backend of one input sees the same pixels, so its output is comparable with the reference


def _images(key: CaseKey, device: torch.device) -> torch.Tensor:
    """Random pixels in [0, 1], as VGGT's preprocessing yields; [batch 1, frames, 3, H, W], the same for each call."""
    generator = torch.Generator(device=device).manual_seed(IMAGES_SEED)
    shape = (1, key.frames, 3, key.resolution.height, key.resolution.width)
    return torch.rand(shape, generator=generator, device=device)


def _autocast_forward(module: nn.Module, images: torch.Tensor, dtype: str) -> Callable[[], object]:
    def forward() -> object:
        with torch.inference_mode(), torch.autocast(images.device.type, dtype=DTYPES[dtype]):
            return module(images)

    return forward


def last_layer_tokens(output: object) -> torch.Tensor:
    """The aggregator returns (24 layers of tokens, patch start index); the last layer carries every block's error."""
    tokens: torch.Tensor = output[0][-1]  # type: ignore[index]  # VGGT returns an untyped tuple
    return tokens


def model_predictions(output: object) -> list[torch.Tensor]:
    """The full model's predictions (camera, depth, points and their confidences), in a fixed order; not the input
    images it hands back, nor the list of every camera iteration, whose last one is pose_enc."""
    items = sorted(output.items())  # type: ignore[attr-defined]
    return [value for name, value in items if name != "images" and isinstance(value, torch.Tensor)]


def _against_default_backend(
    key: CaseKey, runtime: Runtime, forward: Callable[[], object], select: Callable[[object], Outputs], dtype: str
) -> Reference:
    """The reference is this case's output under PyTorch's own SDPA dispatch, computed once per input and kept
    on the host, so the backends of one input share it and it never counts in their peak GPU memory."""

    def expected() -> Outputs:
        return runtime.models.remember_reference(key, lambda: _to_host(select(forward())))

    return Reference(expected, select, MODEL_TOLERANCE[dtype], computed_by=SDPA_DEFAULT.name)


def _to_host(outputs: Outputs) -> Outputs:
    return [tensor.to("cpu") for tensor in as_tensor_list(outputs)]


def prepare_aggregator(key: CaseKey, runtime: Runtime) -> Prepared:
    """The aggregator alone, weights and autocast in reduced precision, as VGGT's README table times it."""
    dtype = reduced_precision(runtime.device)
    forward = _autocast_forward(runtime.models.resident("aggregator"), _images(key, runtime.device), dtype)
    return Prepared(forward, dtype, _against_default_backend(key, runtime, forward, last_layer_tokens, dtype))


def prepare_model(key: CaseKey, runtime: Runtime) -> Prepared:
    """The full VGGT as its README runs it: fp32 weights under reduced-precision autocast."""
    dtype = reduced_precision(runtime.device)
    forward = _autocast_forward(runtime.models.resident("model"), _images(key, runtime.device), dtype)
    reference = _against_default_backend(key, runtime, forward, model_predictions, dtype)
    return Prepared(forward, f"fp32+autocast-{dtype}", reference)
