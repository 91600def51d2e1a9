"""VGGT availability, checkpoint loading and the session's models, with small torch modules standing in for VGGT."""

from __future__ import annotations

import importlib.machinery
import re
import shutil
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

import perf.workloads.vggt
from perf.core.results import CaseKey, Resolution
from perf.workloads.runtime import Runtime
from perf.workloads.vggt import (
    INSTALL_HINT,
    ModelError,
    VggtModels,
    _images,
    last_layer_tokens,
    load_checkpoint,
    model_predictions,
    vggt_unavailable_reason,
)

CPU = torch.device("cpu")


class Aggregator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(3, 4)

    def forward(self, images: torch.Tensor) -> torch.Tensor:  # [B, S, 3, H, W] -> [B, S, 4]
        return self.proj(images.mean(dim=(-2, -1)))


class TinyVggt(nn.Module):
    """Stands in for vggt.models.vggt.VGGT: an aggregator and a head, a few parameters."""

    built = 0

    def __init__(self) -> None:
        super().__init__()
        TinyVggt.built += 1
        self.aggregator = Aggregator()
        self.head = nn.Linear(4, 2)
        self.seen: list[torch.Tensor] = []

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        self.seen.append(images)
        return self.head(self.aggregator(images))


@pytest.fixture
def no_vggt(monkeypatch: pytest.MonkeyPatch) -> None:
    """vggt not importable, even on a machine where it is installed."""
    monkeypatch.setitem(sys.modules, "vggt", None)


@pytest.fixture
def tiny_vggt(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[TinyVggt]]:
    """`from vggt.models.vggt import VGGT` yields TinyVggt."""
    for name in ("vggt", "vggt.models", "vggt.models.vggt"):
        module = types.ModuleType(name)
        module.__spec__ = importlib.machinery.ModuleSpec(name, None)
        monkeypatch.setitem(sys.modules, name, module)
    sys.modules["vggt.models.vggt"].VGGT = TinyVggt  # type: ignore[attr-defined]
    TinyVggt.built = 0
    yield TinyVggt


@pytest.fixture
def checkpoints(tmp_path: Path) -> dict[str, Path]:
    """Files a --vggt-weights path may name, each for a TinyVggt."""
    torch.manual_seed(0)
    state = TinyVggt().state_dict()
    paths = {name: tmp_path / name for name in ("good.pt", "good.safetensors")}
    torch.save(state, paths["good.pt"])
    save_file(state, str(paths["good.safetensors"]))
    return paths


def one_line(message: str) -> bool:
    return "\n" not in message


def test_vggt_unavailable_reason_is_one_line_with_the_install_hint(no_vggt: None) -> None:
    reason = vggt_unavailable_reason()
    assert reason == f"vggt is not installed ({INSTALL_HINT})"
    assert one_line(reason)


def test_vggt_unavailable_reason_is_none_where_vggt_is_importable(tiny_vggt: type[TinyVggt]) -> None:
    assert vggt_unavailable_reason() is None


@pytest.mark.parametrize("name", ["good.pt", "good.safetensors"])
def test_a_checkpoint_loads_its_weights(checkpoints: dict[str, Path], name: str) -> None:
    model = TinyVggt()
    load_checkpoint(model, checkpoints[name])
    expected = torch.load(checkpoints["good.pt"], weights_only=True)
    assert model.state_dict().keys() == expected.keys()
    for key, value in model.state_dict().items():
        assert torch.equal(value, expected[key]), key


class Payload:
    """A pickled object that runs code when unpickled: weights_only loading must refuse it."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("unpickled code ran",))


def write_bad(path: Path, checkpoints: dict[str, Path], kind: str) -> None:
    if kind == "missing":
        return
    if kind == "directory":
        path.mkdir()
    elif kind == "text":
        path.write_text("not a checkpoint\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "other-format":  # a safetensors file named .pt, a torch pickle named .safetensors
        source = checkpoints["good.safetensors" if path.suffix == ".pt" else "good.pt"]
        shutil.copy(source, path)
    elif kind == "wrong-model":
        torch.save(nn.Linear(4, 4).state_dict(), path)
    elif kind == "missing-key":
        state = torch.load(checkpoints["good.pt"], weights_only=True)
        del state["head.bias"]
        torch.save(state, path)
    elif kind == "wrong-shape":
        state = torch.load(checkpoints["good.pt"], weights_only=True)
        state["head.weight"] = torch.zeros(3, 4)
        torch.save(state, path)
    elif kind == "not-a-dict":
        torch.save(torch.zeros(2), path)
    elif kind == "pickled-code":
        torch.save({"head.weight": Payload()}, path)
    else:
        raise AssertionError(kind)


BAD = [
    ("missing.pt", "missing"),
    ("missing.safetensors", "missing"),
    ("weights.pt", "directory"),
    ("weights.pt", "text"),
    ("weights.bin", "text"),
    ("weights.safetensors", "text"),
    ("weights.pt", "empty"),
    ("weights.safetensors", "empty"),
    ("weights.pt", "other-format"),
    ("weights.safetensors", "other-format"),
    ("weights.pt", "wrong-model"),
    ("weights.pt", "missing-key"),
    ("weights.pt", "wrong-shape"),
    ("weights.pt", "not-a-dict"),
    ("weights.pt", "pickled-code"),
]


@pytest.mark.parametrize(("name", "kind"), BAD, ids=[f"{kind}-{name}" for name, kind in BAD])
def test_a_bad_checkpoint_is_a_model_error_naming_the_path(
    tmp_path: Path, checkpoints: dict[str, Path], capsys: pytest.CaptureFixture[str], name: str, kind: str
) -> None:
    path = tmp_path / "bad" / name
    path.parent.mkdir()
    write_bad(path, checkpoints, kind)
    with pytest.raises(ModelError) as raised:
        load_checkpoint(TinyVggt(), path)
    message = str(raised.value)
    assert message.startswith(f"--vggt-weights {path}: cannot load a VGGT state dict (")
    assert message.endswith(")")
    assert len(message) > len(f"--vggt-weights {path}: cannot load a VGGT state dict ()")
    assert one_line(message)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert "unpickled code ran" not in capsys.readouterr().out


def test_loading_needs_every_key_of_the_model(checkpoints: dict[str, Path]) -> None:
    with pytest.raises(ModelError, match="cannot load a VGGT state dict"):
        load_checkpoint(nn.Sequential(TinyVggt(), nn.Linear(2, 2)), checkpoints["good.pt"])


def test_without_vggt_the_models_raise_a_model_error_with_the_install_hint(no_vggt: None) -> None:
    models = VggtModels(CPU, None)
    with pytest.raises(ModelError) as raised:
        models.resident("aggregator")
    assert str(raised.value).startswith("vggt is not importable (")
    assert str(raised.value).endswith(f"; {INSTALL_HINT})")
    assert one_line(str(raised.value))


def test_vggt_is_built_once_and_each_variant_made_resident_alone(tiny_vggt: type[TinyVggt]) -> None:
    models = VggtModels(CPU, None)
    model = models.resident("model")
    assert isinstance(model, tiny_vggt)
    assert not model.training
    assert models.resident("model") is model
    aggregator = models.resident("aggregator")
    assert isinstance(aggregator, Aggregator) and aggregator is not model.aggregator  # a copy
    assert next(aggregator.parameters()).dtype == torch.float32  # a CPU's reduced precision is fp32
    assert models.resident("aggregator") is aggregator
    assert models.resident("model") is model
    assert tiny_vggt.built == 1
    models.release()
    assert models._resident is None


def test_the_models_load_the_given_weights(tiny_vggt: type[TinyVggt], checkpoints: dict[str, Path]) -> None:
    model = VggtModels(CPU, checkpoints["good.safetensors"]).resident("model")
    expected = torch.load(checkpoints["good.pt"], weights_only=True)
    assert all(torch.equal(value, expected[key]) for key, value in model.state_dict().items())


def test_the_models_report_a_bad_weights_path_and_keep_no_half_loaded_model(
    tiny_vggt: type[TinyVggt], checkpoints: dict[str, Path], tmp_path: Path
) -> None:
    path = tmp_path / "vggt.pt"
    state = torch.load(checkpoints["good.pt"], weights_only=True)
    del state["head.bias"]  # load_state_dict copies the other tensors before it refuses
    torch.save(state, path)
    models = VggtModels(CPU, path)
    built = tiny_vggt.built
    for variant in ("model", "aggregator"):
        with pytest.raises(ModelError, match=f"^--vggt-weights {re.escape(str(path))}: cannot load a VGGT state dict"):
            models.resident(variant)
    assert models._host_model is None and models._resident is None
    assert tiny_vggt.built == built + 2  # each attempt builds afresh


@pytest.mark.parametrize(
    ("prepare", "variant", "dtype"),
    [
        (perf.workloads.vggt.prepare_model, "model", "fp32+autocast-bf16"),
        (perf.workloads.vggt.prepare_aggregator, "aggregator", "bf16"),
    ],
)
def test_prepared_vggt_forwards_run_the_resident_variant_under_autocast(
    monkeypatch: pytest.MonkeyPatch, tiny_vggt: type[TinyVggt], prepare, variant: str, dtype: str
) -> None:
    # A GPU's bf16, on the CPU: CPU autocast takes bf16 (and refuses fp32), so the forward runs here.
    monkeypatch.setattr(perf.workloads.vggt, "reduced_precision", lambda device: "bf16")
    runtime = Runtime(CPU, VggtModels(CPU, None))
    prepared = prepare(CaseKey(f"vggt-{variant}", "sdpa-default", 3, Resolution(28, 42)), runtime)
    assert prepared.dtype == dtype
    output = prepared.forward()
    assert output.dtype == torch.bfloat16
    assert tuple(output.shape) == ((1, 3, 2) if variant == "model" else (1, 3, 4))
    assert output.is_inference()
    resident = runtime.models.resident(variant)
    weights_dtype = torch.float32 if variant == "model" else torch.bfloat16
    assert {parameter.dtype for parameter in resident.parameters()} == {weights_dtype}
    if variant == "model":
        (images,) = resident.seen
        assert tuple(images.shape) == (1, 3, 3, 28, 42)  # [batch, frames, RGB, H, W]
        assert images.dtype == torch.float32
        assert images.min() >= 0 and images.max() <= 1


def test_the_models_predictions_are_its_tensors_without_the_images_and_the_camera_iterations() -> None:
    pose, depth, images = torch.zeros(1, 2, 9), torch.ones(1, 2, 4, 4, 1), torch.rand(1, 2, 3, 4, 4)
    output = {"pose_enc": pose, "pose_enc_list": [pose, pose], "depth": depth, "images": images}
    selected = model_predictions(output)
    assert len(selected) == 2
    assert selected[0] is depth and selected[1] is pose  # sorted by name: depth, pose_enc


def test_the_aggregators_last_layer_is_compared() -> None:
    layers = [torch.full((1,), float(i)) for i in range(24)]
    assert last_layer_tokens((layers, 5)) is layers[-1]


def test_a_reference_is_computed_once_per_input_and_replaced_by_the_next() -> None:
    models = VggtModels(torch.device("cpu"), None)
    computed: list[int] = []

    def compute(value: int):
        return lambda: computed.append(value) or torch.tensor([value])

    first = CaseKey("vggt-aggregator", "sdpa-default", 2, Resolution(70, 70))
    same_input_other_backend = CaseKey("vggt-aggregator", "sdpa-flash", 2, Resolution(70, 70))
    next_input = CaseKey("vggt-aggregator", "sdpa-default", 4, Resolution(70, 70))
    assert models.remember_reference(first, compute(1)).item() == 1
    assert models.remember_reference(same_input_other_backend, compute(2)).item() == 1
    assert models.remember_reference(next_input, compute(3)).item() == 3
    assert computed == [1, 3]


def test_every_backend_of_an_input_sees_the_same_images() -> None:
    key = CaseKey("vggt-aggregator", "sdpa-default", 2, Resolution(28, 42))
    first, second = _images(key, torch.device("cpu")), _images(key, torch.device("cpu"))
    assert first.shape == (1, 2, 3, 28, 42)
    assert torch.equal(first, second)
    assert first.min() >= 0 and first.max() <= 1 and first.std() > 0.1
