"""The environment fingerprint of a run and the device slug that names its baseline file."""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import re
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from perf import __version__

# The fingerprint field naming the suite that measured (version and commit).
SUITE_FIELD = "vggt-perf"
# Libraries whose version changes what an attention backend runs or how it is timed (vggt is recorded apart).
_TRACKED_DISTRIBUTIONS = ("flash-attn", "flash-attn-3", "flash-attn-4", "triton", "pytest-benchmark")


def slugify(name: str) -> str:
    """'NVIDIA H100 80GB HBM3' -> 'nvidia-h100-80gb-hbm3'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_model()


def describe_device(device: torch.device) -> dict[str, str]:
    """Name, baseline slug and memory of the device; CPU slugs start with cpu- so they never mix with a GPU's."""
    name = device_name(device)
    if device.type == "cuda":
        total = torch.cuda.get_device_properties(device).total_memory
        return {"name": name, "slug": slugify(name), "total_memory_bytes": str(total)}
    return {"name": name, "slug": f"cpu-{slugify(name)}", "total_memory_bytes": ""}


def _distribution_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return ""


# What NVML tells of a GPU that moves its timings (clocks, power cap, ECC) or that torch does not report (driver).
# Never a UUID or a serial: baselines are committed, and they say which model measured, not which card.
NVML_FIELDS = (
    "driver",
    "gpu_name",
    "sm_clock_max_mhz",
    "mem_clock_max_mhz",
    "sm_clock_app_mhz",
    "power_limit_w",
    "persistence_mode",
    "ecc",
)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _ask(query: Callable[[], str]) -> str:
    """One NVML query's answer, or '' for any error: unsupported here, no permission, an older library."""
    try:
        return query()
    except Exception:  # NVMLError and its many subclasses, or anything a broken binding raises instead
        return ""


def device_uuid(device: torch.device) -> str:
    try:
        return str(torch.cuda.get_device_properties(device).uuid)
    except Exception:  # a CPU build of torch, or a torch without the field: fall back to the index
        return ""


def _nvml_uuid(torch_uuid: str) -> str:
    """NVML's spelling, GPU-8-4-4-4-12 lower-case hex, of torch's UUID however torch spells it (dashes, prefix)."""
    return f"GPU-{uuid.UUID(hex=re.sub('[^0-9a-f]', '', torch_uuid.lower()))}"


def nvml_handle(pynvml: Any, index: int, torch_uuid: str) -> Any:
    """The NVML handle of torch's GPU: by UUID, since CUDA_VISIBLE_DEVICES and CUDA's device order renumber
    torch's GPUs but not NVML's; by index only where torch reports no UUID."""
    if torch_uuid:
        return pynvml.nvmlDeviceGetHandleByUUID(_nvml_uuid(torch_uuid))
    return pynvml.nvmlDeviceGetHandleByIndex(index)


def _on_off(enabled: bool) -> str:
    return "on" if enabled else "off"


def nvml_fingerprint(index: int, torch_uuid: str = "") -> dict[str, str]:
    """NVML_FIELDS of one GPU, each '' where NVML cannot tell (no library, no driver, not supported); never raises.

    One nvmlInit/nvmlShutdown for all fields. The GPU is torch_uuid's (get_device_properties), else index's;
    a UUID NVML does not know (a MIG instance) leaves the device fields unknown rather than another GPU's.
    """
    fields = dict.fromkeys(NVML_FIELDS, "")
    try:
        import pynvml  # nvidia-ml-py

        pynvml.nvmlInit()
    except Exception:  # no nvidia-ml-py, no NVML library or no driver: the fingerprint lacks these fields
        return fields
    try:
        fields["driver"] = _ask(lambda: _text(pynvml.nvmlSystemGetDriverVersion()))
        try:
            handle = nvml_handle(pynvml, index, torch_uuid)
        except Exception:  # NVML knows no GPU of that UUID or index: the driver is all it can tell
            return fields
        enabled = pynvml.NVML_FEATURE_ENABLED
        queries: dict[str, Callable[[], str]] = {
            "gpu_name": lambda: _text(pynvml.nvmlDeviceGetName(handle)),
            "sm_clock_max_mhz": lambda: str(pynvml.nvmlDeviceGetMaxClockInfo(handle, pynvml.NVML_CLOCK_SM)),
            "mem_clock_max_mhz": lambda: str(pynvml.nvmlDeviceGetMaxClockInfo(handle, pynvml.NVML_CLOCK_MEM)),
            "sm_clock_app_mhz": lambda: str(pynvml.nvmlDeviceGetApplicationsClock(handle, pynvml.NVML_CLOCK_SM)),
            "power_limit_w": lambda: f"{pynvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000:g}",  # milliwatts
            "persistence_mode": lambda: _on_off(pynvml.nvmlDeviceGetPersistenceMode(handle) == enabled),
            "ecc": lambda: _on_off(pynvml.nvmlDeviceGetEccMode(handle)[0] == enabled),  # (current, pending)
        }
        fields.update({name: _ask(query) for name, query in queries.items()})
        return fields
    finally:
        with contextlib.suppress(Exception):  # a failed shutdown loses nothing already read
            pynvml.nvmlShutdown()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def host_cpu() -> str:
    """CPU model and core count: few-frame cases are bound by the host launching kernels."""
    return f"{cpu_model()} x{os.cpu_count()}"


def _gpu_fields(device: torch.device) -> dict[str, str]:
    if device.type != "cuda":
        return dict.fromkeys(NVML_FIELDS, "")  # a CPU run asks no NVML: the host's GPUs are not what it measures
    return nvml_fingerprint(device.index or 0, device_uuid(device))


def vggt_revision() -> str:
    """Installed vggt's version and, for a pip install from git, its commit (PEP 610 direct_url.json)."""
    return _installed_revision("vggt")


def _installed_revision(name: str) -> str:
    """'<version> <commit>' of an installed distribution (the commit where pip installed it from git), '' if absent."""
    try:
        distribution = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return ""
    commit = ""
    direct_url = distribution.read_text("direct_url.json")
    if direct_url:
        commit = json.loads(direct_url).get("vcs_info", {}).get("commit_id", "")
    return f"{distribution.version} {commit}".strip()


def suite_revision() -> str:
    """This suite's version and commit, recorded with every baseline run: a change of methodology moves times (the
    CUPTI teardown moved them 7-13 %), so a baseline says which suite measured it. From a git checkout (an editable
    install) the commit is the checkout's HEAD, with "-dirty" where perf/ has uncommitted changes; else the commit
    pip installed from, if any."""
    checkout = Path(__file__).resolve().parents[2]
    head = _git(checkout, "rev-parse", "HEAD")
    if not head:  # an installed suite's version is __version__ (pyproject reads it from there)
        return _installed_revision("vggt-perf") or __version__
    dirty = "-dirty" if _git(checkout, "status", "--porcelain", "--untracked-files=no", "--", "perf") else ""
    return f"{__version__} {head}{dirty}"


def _git(checkout: Path, *arguments: str) -> str:
    """git's output in checkout, stripped; '' where there is no git, no repository or any error."""
    if not (checkout / ".git").exists():
        return ""
    try:
        done = subprocess.run(
            ["git", "-C", str(checkout), *arguments], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _cudnn_version() -> int | None:
    """cuDNN's version number where torch has cuDNN (torch leaves these two functions untyped)."""
    if not torch.backends.cudnn.is_available():  # type: ignore[no-untyped-call]
        return None
    version: int | None = torch.backends.cudnn.version()  # type: ignore[no-untyped-call]
    return version


def fingerprint(device: torch.device, vggt_source: str) -> dict[str, str]:
    """What changes inference speed, as strings (the baseline schema); '' where a thing is absent or unknown."""
    cudnn = _cudnn_version()
    gpu = _gpu_fields(device)
    environment = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda or "",
        "cudnn": str(cudnn or ""),
        **gpu,
        "host_cpu": host_cpu(),
        "host_cpu_count": str(os.cpu_count() or ""),
        "vggt": vggt_source,
        SUITE_FIELD: suite_revision(),
    }
    environment.update({name: _distribution_version(name) for name in _TRACKED_DISTRIBUTIONS})
    return environment
