"""Device slugs, the environment fingerprint and the vggt revision, on a CPU and with faked CUDA and NVML."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import sys
import types
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import perf.env
from perf.env import cpu_model, describe_device, fingerprint, host_cpu, slugify, vggt_revision

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
CPU = torch.device("cpu")
CUDA = torch.device("cuda", 0)  # only a name here: nothing in these tests touches a GPU
FINGERPRINT_KEYS = {
    "python", "torch", "cuda", "cudnn", "driver", "host_cpu", "vggt",
    "flash-attn", "flash-attn-3", "flash-attn-4", "triton", "pytest-benchmark",
}  # fmt: skip


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("NVIDIA H100 80GB HBM3", "nvidia-h100-80gb-hbm3"),
        ("NVIDIA H200", "nvidia-h200"),
        ("NVIDIA GeForce RTX 4090", "nvidia-geforce-rtx-4090"),
        ("Tesla V100-SXM2-16GB", "tesla-v100-sxm2-16gb"),
        ("Intel(R) Xeon(R) Platinum 8480+", "intel-r-xeon-r-platinum-8480"),
        ("  AMD EPYC 7763 64-Core Processor  ", "amd-epyc-7763-64-core-processor"),
        ("--already-a-slug--", "already-a-slug"),
        ("", ""),
    ],
)
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_a_slug_is_lowercase_words_joined_by_single_hyphens(name: str) -> None:
    slug = slugify(name)
    assert slug == "" or SLUG.match(slug), slug
    assert slugify(slug) == slug


def test_a_cpu_is_described_with_a_cpu_slug() -> None:
    described = describe_device(CPU)
    assert described == {"name": cpu_model(), "slug": f"cpu-{slugify(cpu_model())}", "total_memory_bytes": ""}
    assert described["slug"].startswith("cpu-")
    assert SLUG.match(described["slug"])


def test_a_gpu_is_described_by_its_name_and_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = []
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: asked.append(device) or "NVIDIA H100 80GB HBM3")
    monkeypatch.setattr(
        torch.cuda, "get_device_properties", lambda device: types.SimpleNamespace(total_memory=85 * 10**9)
    )
    assert describe_device(CUDA) == {
        "name": "NVIDIA H100 80GB HBM3",
        "slug": "nvidia-h100-80gb-hbm3",
        "total_memory_bytes": "85000000000",
    }
    assert asked == [CUDA]


def test_cpu_model_reads_proc_cpuinfo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n")
    monkeypatch.setattr(perf.env, "Path", lambda _: cpuinfo)
    assert cpu_model() == "Intel(R) Xeon(R) CPU @ 2.20GHz"
    assert host_cpu() == f"Intel(R) Xeon(R) CPU @ 2.20GHz x{os.cpu_count()}"


@pytest.mark.parametrize("cpuinfo", ["missing", "no model name"])
def test_cpu_model_falls_back_to_the_platform(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cpuinfo: str) -> None:
    path = tmp_path / "cpuinfo"
    if cpuinfo != "missing":
        path.write_text("processor\t: 0\nCPU implementer\t: 0x41\n")  # an ARM cpuinfo has no model name
    monkeypatch.setattr(perf.env, "Path", lambda _: path)
    monkeypatch.setattr(perf.env.platform, "processor", lambda: "")
    monkeypatch.setattr(perf.env.platform, "machine", lambda: "aarch64")
    assert cpu_model() == "aarch64"


def test_cpu_fingerprint_has_versions_and_no_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_nvml() -> str:
        raise AssertionError("a CPU run must not ask NVML")

    monkeypatch.setattr(perf.env, "_nvidia_driver", no_nvml)
    environment = fingerprint(CPU, "0.0.1 abc123")
    assert set(environment) == FINGERPRINT_KEYS
    assert all(isinstance(value, str) for value in environment.values())
    assert environment["torch"] == torch.__version__
    assert environment["python"] == ".".join(map(str, sys.version_info[:3]))
    assert environment["vggt"] == "0.0.1 abc123"
    assert environment["driver"] == ""
    assert environment["host_cpu"] == host_cpu()
    assert environment["pytest-benchmark"] == importlib.metadata.version("pytest-benchmark")
    assert environment["cuda"] == (torch.version.cuda or "")


def test_a_gpu_fingerprint_without_nvml_has_an_empty_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError
    environment = fingerprint(CUDA, "")
    assert environment["driver"] == ""
    assert environment["torch"] == torch.__version__
    assert set(environment) == FINGERPRINT_KEYS


class FakeNvml(types.ModuleType):
    """pynvml with a driver version, or an NVMLError where there is no driver."""

    class NVMLError(Exception):
        pass

    def __init__(self, version: object = b"550.54.15", fail_at: str = "") -> None:
        super().__init__("pynvml")
        self.version, self.fail_at, self.calls = version, fail_at, []

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name == self.fail_at:
            raise self.NVMLError("NVML Shared Library Not Found")

    def nvmlInit(self) -> None:
        self._call("init")

    def nvmlSystemGetDriverVersion(self) -> object:
        self._call("version")
        return self.version

    def nvmlShutdown(self) -> None:
        self._call("shutdown")


@pytest.mark.parametrize(
    ("nvml", "driver", "calls"),
    [
        (FakeNvml(b"550.54.15"), "550.54.15", ["init", "version", "shutdown"]),
        (FakeNvml("570.86.10"), "570.86.10", ["init", "version", "shutdown"]),
        (FakeNvml(fail_at="init"), "", ["init"]),
        (FakeNvml(fail_at="version"), "", ["init", "version", "shutdown"]),
    ],
    ids=["bytes", "str", "no-library", "no-driver"],
)
def test_the_driver_comes_from_nvml_when_it_answers(
    monkeypatch: pytest.MonkeyPatch, nvml: FakeNvml, driver: str, calls: list[str]
) -> None:
    nvml.calls = []
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    assert fingerprint(CUDA, "")["driver"] == driver
    assert nvml.calls == calls


class FakeDistribution:
    def __init__(self, version: str, direct_url: dict | None) -> None:
        self.version = version
        self._direct_url = direct_url

    def read_text(self, name: str) -> str | None:
        assert name == "direct_url.json"
        return json.dumps(self._direct_url) if self._direct_url is not None else None


@pytest.mark.parametrize(
    ("direct_url", "revision"),
    [
        ({"url": "https://github.com/facebookresearch/vggt.git", "vcs_info": {"vcs": "git", "commit_id": "44b3afb"}},
         "0.0.1 44b3afb"),
        ({"url": "file:///src/vggt", "dir_info": {"editable": True}}, "0.0.1"),
        (None, "0.0.1"),
    ],
    ids=["git", "local-dir", "index"],
)  # fmt: skip
def test_vggt_revision_is_the_version_and_git_commit(
    monkeypatch: pytest.MonkeyPatch, direct_url: dict | None, revision: str
) -> None:
    monkeypatch.setattr(
        perf.env.importlib.metadata,
        "distribution",
        lambda name: FakeDistribution("0.0.1", direct_url) if name == "vggt" else pytest.fail(name),
    )
    assert vggt_revision() == revision


def test_vggt_revision_is_empty_without_vggt(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_found(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(perf.env.importlib.metadata, "distribution", not_found)
    assert vggt_revision() == ""
