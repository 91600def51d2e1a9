"""Device slugs, the environment fingerprint and the vggt revision, on a CPU and with faked CUDA and NVML."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
import types
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import perf
import perf.hardware.fingerprint
from perf.hardware.fingerprint import (
    NVML_FIELDS,
    cpu_model,
    describe_device,
    fingerprint,
    host_cpu,
    slugify,
    suite_revision,
    vggt_revision,
)

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
CPU = torch.device("cpu")
CUDA = torch.device("cuda", 0)  # only a name here: nothing in these tests touches a GPU
FINGERPRINT_KEYS = {
    "python", "torch", "cuda", "cudnn", "driver", "host_cpu", "host_cpu_count", "vggt",
    "gpu_name", "sm_clock_max_mhz", "mem_clock_max_mhz", "sm_clock_app_mhz", "power_limit_w", "persistence_mode", "ecc",
    "flash-attn", "flash-attn-3", "flash-attn-4", "triton", "pytest-benchmark", "vggt-perf",
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
    monkeypatch.setattr(perf.hardware.fingerprint, "Path", lambda _: cpuinfo)
    assert cpu_model() == "Intel(R) Xeon(R) CPU @ 2.20GHz"
    assert host_cpu() == f"Intel(R) Xeon(R) CPU @ 2.20GHz x{os.cpu_count()}"


@pytest.mark.parametrize("cpuinfo", ["missing", "no model name"])
def test_cpu_model_falls_back_to_the_platform(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cpuinfo: str) -> None:
    path = tmp_path / "cpuinfo"
    if cpuinfo != "missing":
        path.write_text("processor\t: 0\nCPU implementer\t: 0x41\n")  # an ARM cpuinfo has no model name
    monkeypatch.setattr(perf.hardware.fingerprint, "Path", lambda _: path)
    monkeypatch.setattr(perf.hardware.fingerprint.platform, "processor", lambda: "")
    monkeypatch.setattr(perf.hardware.fingerprint.platform, "machine", lambda: "aarch64")
    assert cpu_model() == "aarch64"


def test_cpu_fingerprint_has_versions_and_no_gpu_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_nvml(*args: object) -> dict[str, str]:
        raise AssertionError("a CPU run must not ask NVML")

    monkeypatch.setattr(perf.hardware.fingerprint, "nvml_fingerprint", no_nvml)
    environment = fingerprint(CPU, "0.0.1 abc123")
    assert set(environment) == FINGERPRINT_KEYS
    assert all(isinstance(value, str) for value in environment.values())
    assert environment["torch"] == torch.__version__
    assert environment["python"] == ".".join(map(str, sys.version_info[:3]))
    assert environment["vggt"] == "0.0.1 abc123"
    assert {name: environment[name] for name in NVML_FIELDS} == dict.fromkeys(NVML_FIELDS, "")
    assert environment["host_cpu"] == host_cpu()
    assert environment["host_cpu_count"] == str(os.cpu_count())
    assert environment["pytest-benchmark"] == importlib.metadata.version("pytest-benchmark")
    assert environment["cuda"] == (torch.version.cuda or "")


H100_UUID = "58f9d2a0-1b2c-4d5e-8f90-0123456789ab"
H100 = {  # what nvidia-ml-py answers for an H100 SXM in persistence mode with ECC on
    "nvmlSystemGetDriverVersion": "580.159.04",
    "nvmlDeviceGetName": "NVIDIA H100 80GB HBM3",
    "nvmlDeviceGetMaxClockInfo": lambda handle, clock: {1: 1980, 2: 2619}[clock],
    "nvmlDeviceGetApplicationsClock": lambda handle, clock: {1: 1755, 2: 2619}[clock],
    "nvmlDeviceGetEnforcedPowerLimit": 700_000,  # milliwatts
    "nvmlDeviceGetPersistenceMode": 1,
    "nvmlDeviceGetEccMode": [1, 1],  # current, pending
    "nvmlDeviceGetUUID": f"GPU-{H100_UUID}",
    "nvmlDeviceGetSerial": "1650123456789",
}
H100_FIELDS = {
    "driver": "580.159.04",
    "gpu_name": "NVIDIA H100 80GB HBM3",
    "sm_clock_max_mhz": "1980",
    "mem_clock_max_mhz": "2619",
    "sm_clock_app_mhz": "1755",
    "power_limit_w": "700",
    "persistence_mode": "on",
    "ecc": "on",
}
# The fields each device query fills: an error in one empties those alone.
QUERY_FIELDS = {
    "nvmlSystemGetDriverVersion": ("driver",),
    "nvmlDeviceGetName": ("gpu_name",),
    "nvmlDeviceGetMaxClockInfo": ("sm_clock_max_mhz", "mem_clock_max_mhz"),
    "nvmlDeviceGetApplicationsClock": ("sm_clock_app_mhz",),
    "nvmlDeviceGetEnforcedPowerLimit": ("power_limit_w",),
    "nvmlDeviceGetPersistenceMode": ("persistence_mode",),
    "nvmlDeviceGetEccMode": ("ecc",),
}


class FakeNvml(types.ModuleType):
    """pynvml answering from a table; a query named in fail raises NVMLError, as an unsupported one does."""

    NVML_CLOCK_SM, NVML_CLOCK_MEM, NVML_FEATURE_ENABLED = 1, 2, 1

    class NVMLError(Exception):
        pass

    def __init__(self, fail: Iterable[str] = (), **answers: object) -> None:
        super().__init__("pynvml")
        self.fail, self.calls = set(fail), []
        self.answers: dict[str, object] = {
            **H100,
            "nvmlInit": None,
            "nvmlShutdown": None,
            "nvmlDeviceGetHandleByIndex": lambda index: f"handle {index}",
            "nvmlDeviceGetHandleByUUID": lambda uuid: f"handle {uuid}",
            **answers,
        }

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("nvml"):
            raise AttributeError(name)

        def query(*args: object) -> object:
            self.calls.append(name)
            if name in self.fail:
                raise self.NVMLError(f"{name}: Not Supported")
            answer = self.answers[name]
            return answer(*args) if callable(answer) else answer

        return query


@pytest.fixture
def cpu_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch.cuda as a CPU build answers it, whatever this machine's build: no device properties, no UUID."""

    def no_cuda(device: object) -> None:
        raise AssertionError("Torch not compiled with CUDA enabled")

    monkeypatch.setattr(torch.cuda, "get_device_properties", no_cuda)


def gpu_fingerprint(monkeypatch: pytest.MonkeyPatch, nvml: types.ModuleType | None) -> dict[str, str]:
    monkeypatch.setitem(sys.modules, "pynvml", nvml)  # None: import pynvml raises ImportError
    environment = fingerprint(CUDA, "")
    assert set(environment) == FINGERPRINT_KEYS
    assert all(isinstance(value, str) for value in environment.values())
    return {name: environment[name] for name in NVML_FIELDS}


@pytest.mark.usefixtures("cpu_torch")
def test_a_gpu_fingerprint_has_every_nvml_field_from_one_nvml_session(monkeypatch: pytest.MonkeyPatch) -> None:
    nvml = FakeNvml()
    assert gpu_fingerprint(monkeypatch, nvml) == H100_FIELDS
    assert nvml.calls.count("nvmlInit") == nvml.calls.count("nvmlShutdown") == 1
    assert nvml.calls[0] == "nvmlInit"
    assert nvml.calls[-1] == "nvmlShutdown"
    assert "nvmlDeviceGetHandleByIndex" in nvml.calls  # torch gave no UUID: NVML's index 0, torch's cuda:0
    assert not [call for call in nvml.calls if "Serial" in call or call == "nvmlDeviceGetUUID"]


@pytest.mark.usefixtures("cpu_torch")
def test_nvml_answers_are_turned_into_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    nvml = FakeNvml(
        nvmlSystemGetDriverVersion=b"550.54.15",  # older nvidia-ml-py answers bytes
        nvmlDeviceGetName=b"NVIDIA GeForce RTX 4090",
        nvmlDeviceGetEnforcedPowerLimit=450_500,
        nvmlDeviceGetPersistenceMode=0,
        nvmlDeviceGetEccMode=[0, 1],  # off now, on after the next reset: the current mode is what runs
    )
    fields = gpu_fingerprint(monkeypatch, nvml)
    assert fields["driver"] == "550.54.15"
    assert fields["gpu_name"] == "NVIDIA GeForce RTX 4090"
    assert fields["power_limit_w"] == "450.5"
    assert fields["persistence_mode"] == "off"
    assert fields["ecc"] == "off"


@pytest.mark.usefixtures("cpu_torch")
@pytest.mark.parametrize("failing", list(QUERY_FIELDS))
def test_an_nvml_error_midway_empties_only_its_fields(monkeypatch: pytest.MonkeyPatch, failing: str) -> None:
    nvml = FakeNvml(fail=[failing])
    fields = gpu_fingerprint(monkeypatch, nvml)
    assert fields == {name: "" if name in QUERY_FIELDS[failing] else value for name, value in H100_FIELDS.items()}
    assert nvml.calls.count("nvmlShutdown") == 1


@settings(max_examples=50, deadline=None)
@given(st.sets(st.sampled_from([*QUERY_FIELDS, "nvmlShutdown"])))
def test_any_set_of_nvml_errors_leaves_the_other_fields_filled(failing: set[str]) -> None:
    emptied = {name for query in failing for name in QUERY_FIELDS.get(query, ())}
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: types.SimpleNamespace())
        fields = gpu_fingerprint(monkeypatch, FakeNvml(fail=failing))
    assert fields == {name: "" if name in emptied else value for name, value in H100_FIELDS.items()}


@pytest.mark.usefixtures("cpu_torch")
@pytest.mark.parametrize(
    ("nvml", "calls"),
    [
        (None, []),
        (FakeNvml(fail=["nvmlInit"]), ["nvmlInit"]),
    ],
    ids=["no-nvidia-ml-py", "no-nvml-library"],
)
def test_without_nvml_every_nvml_field_is_empty(
    monkeypatch: pytest.MonkeyPatch, nvml: FakeNvml | None, calls: list[str]
) -> None:
    assert gpu_fingerprint(monkeypatch, nvml) == dict.fromkeys(NVML_FIELDS, "")
    if nvml is not None:
        assert nvml.calls == calls  # nothing to shut down when init failed


@pytest.mark.usefixtures("cpu_torch")
def test_a_gpu_nvml_cannot_find_has_only_the_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    nvml = FakeNvml(fail=["nvmlDeviceGetHandleByIndex"])
    assert gpu_fingerprint(monkeypatch, nvml) == {**dict.fromkeys(NVML_FIELDS, ""), "driver": "580.159.04"}
    assert nvml.calls[-1] == "nvmlShutdown"


@pytest.mark.parametrize("spelling", [H100_UUID, H100_UUID.replace("-", "").upper(), f"GPU-{H100_UUID}"])
def test_the_gpu_is_found_by_torchs_uuid_whatever_cuda_visible_devices_renumbered(
    monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    asked = []
    monkeypatch.setattr(
        torch.cuda,
        "get_device_properties",
        lambda device: asked.append(device) or types.SimpleNamespace(uuid=spelling),
    )
    nvml = FakeNvml(nvmlDeviceGetHandleByUUID=lambda uuid: asked.append(uuid) or "handle")
    assert gpu_fingerprint(monkeypatch, nvml) == H100_FIELDS
    assert asked == [CUDA, f"GPU-{H100_UUID}"]  # NVML's spelling
    assert "nvmlDeviceGetHandleByIndex" not in nvml.calls
    recorded = json.dumps(fingerprint(CUDA, "")).lower()
    assert H100_UUID not in recorded  # looked up by, never recorded
    assert H100_UUID.replace("-", "") not in recorded


@pytest.mark.parametrize(
    ("spelling", "fail"),
    [
        (H100_UUID, ["nvmlDeviceGetHandleByUUID"]),  # a MIG instance's UUID: no GPU of NVML's has it
        ("MIG-GPU-58f9d2a0-1b2c-4d5e-8f90-0123456789ab/7/0", []),  # not one UUID
        ("not a uuid", []),
    ],
    ids=["unknown-to-nvml", "legacy-mig", "garbled"],
)
def test_a_uuid_nvml_cannot_find_leaves_the_device_fields_unknown(
    monkeypatch: pytest.MonkeyPatch, spelling: str, fail: list[str]
) -> None:
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: types.SimpleNamespace(uuid=spelling))
    nvml = FakeNvml(fail=fail)
    assert gpu_fingerprint(monkeypatch, nvml) == {**dict.fromkeys(NVML_FIELDS, ""), "driver": "580.159.04"}
    assert "nvmlDeviceGetHandleByIndex" not in nvml.calls  # never another GPU's values
    assert nvml.calls[-1] == "nvmlShutdown"


def test_without_a_uuid_the_gpu_is_found_by_torchs_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: types.SimpleNamespace())
    asked = []
    nvml = FakeNvml(nvmlDeviceGetHandleByIndex=lambda index: asked.append(index) or "handle")
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    assert fingerprint(torch.device("cuda", 1), "")["gpu_name"] == "NVIDIA H100 80GB HBM3"
    assert asked == [1]


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
        perf.hardware.fingerprint.importlib.metadata,
        "distribution",
        lambda name: FakeDistribution("0.0.1", direct_url) if name == "vggt" else pytest.fail(name),
    )
    assert vggt_revision() == revision


def test_vggt_revision_is_empty_without_vggt(monkeypatch: pytest.MonkeyPatch) -> None:
    def not_found(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(perf.hardware.fingerprint.importlib.metadata, "distribution", not_found)
    assert vggt_revision() == ""


def test_the_suite_revision_is_this_checkouts_version_and_commit(tmp_path: Path) -> None:
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    revision = suite_revision()
    assert revision.startswith(f"{perf.__version__} {head}")
    assert revision.removeprefix(f"{perf.__version__} {head}") in {"", "-dirty"}
    assert fingerprint(CPU, "")["vggt-perf"] == revision


def test_uncommitted_changes_to_the_suite_mark_its_revision_dirty(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    (tmp_path / "perf" / "hardware").mkdir(parents=True)
    (tmp_path / "perf" / "a.py").write_text("a = 1\n")
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "perf"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    monkeypatch.setattr(perf.hardware.fingerprint, "__file__", str(tmp_path / "perf" / "hardware" / "fingerprint.py"))
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert suite_revision() == f"{perf.__version__} {head}"
    (tmp_path / "perf" / "a.py").write_text("a = 2\n")
    assert suite_revision() == f"{perf.__version__} {head}-dirty"


def test_an_installed_suite_without_a_checkout_records_its_version(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(perf.hardware.fingerprint, "__file__", str(tmp_path / "perf" / "hardware" / "fingerprint.py"))
    url = {"url": "https://example.org/vggt-perf.git", "vcs_info": {"vcs": "git", "commit_id": "9bddbd7"}}
    monkeypatch.setattr(
        perf.hardware.fingerprint.importlib.metadata,
        "distribution",
        lambda name: FakeDistribution(perf.__version__, url) if name == "vggt-perf" else pytest.fail(name),
    )
    assert suite_revision() == f"{perf.__version__} 9bddbd7"


def test_each_gpu_of_a_host_with_several_kinds_gets_its_own_baseline_slug(monkeypatch: pytest.MonkeyPatch) -> None:
    # A host with an H100 and an H200 runs one runner (one pytest) per GPU, each pinned with CUDA_VISIBLE_DEVICES,
    # so each sees its GPU as cuda:0 (docs/runners.md). Faked here: the device list such a host reports.
    gpus = {0: ("NVIDIA H100 80GB HBM3", 85017493504), 1: ("NVIDIA H200", 150754820096)}
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: gpus[device.index][0])
    monkeypatch.setattr(
        torch.cuda, "get_device_properties", lambda device: types.SimpleNamespace(total_memory=gpus[device.index][1])
    )
    described = [describe_device(torch.device("cuda", index)) for index in gpus]
    assert [d["slug"] for d in described] == ["nvidia-h100-80gb-hbm3", "nvidia-h200"]
    assert described[0]["total_memory_bytes"] != described[1]["total_memory_bytes"]


def test_a_suite_neither_checked_out_nor_installed_records_its_version_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def not_found(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(perf.hardware.fingerprint, "__file__", str(tmp_path / "perf" / "hardware" / "fingerprint.py"))
    monkeypatch.setattr(perf.hardware.fingerprint.importlib.metadata, "distribution", not_found)
    assert suite_revision() == perf.__version__
