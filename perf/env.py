"""The environment fingerprint of a run and the device slug that names its baseline file."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import re
from pathlib import Path

import torch

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


def _nvidia_driver() -> str:
    try:
        import pynvml  # nvidia-ml-py: the driver version torch does not report

        pynvml.nvmlInit()
        try:
            version = pynvml.nvmlSystemGetDriverVersion()
        finally:
            pynvml.nvmlShutdown()
        return version.decode() if isinstance(version, bytes) else str(version)
    except Exception:  # no NVML library or no driver: the fingerprint just lacks the field
        return ""


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


def vggt_revision() -> str:
    """Installed vggt's version and, for a pip install from git, its commit (PEP 610 direct_url.json)."""
    try:
        distribution = importlib.metadata.distribution("vggt")
    except importlib.metadata.PackageNotFoundError:
        return ""
    commit = ""
    direct_url = distribution.read_text("direct_url.json")
    if direct_url:
        commit = json.loads(direct_url).get("vcs_info", {}).get("commit_id", "")
    return f"{distribution.version} {commit}".strip()


def fingerprint(device: torch.device, vggt_source: str) -> dict[str, str]:
    """Versions that change inference speed; empty strings where a thing is absent."""
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    environment = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda or "",
        "cudnn": str(cudnn or ""),
        "driver": _nvidia_driver() if device.type == "cuda" else "",
        "host_cpu": host_cpu(),
        "vggt": vggt_source,
    }
    environment.update({name: _distribution_version(name) for name in _TRACKED_DISTRIBUTIONS})
    return environment
