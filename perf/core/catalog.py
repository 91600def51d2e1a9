"""The catalog: every workload and backend name the suite knows, the profiles and the case matrix, as pure data.

The registries (perf.workloads.registry, perf.backends.registry) pair these names with the code that runs them;
a test holds both to this catalog. What needs only names (the case matrix, the baseline commands, the tolerance
policy of a workload) reads them here and so runs without torch.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from perf.core.results import CaseKey, Resolution
from perf.core.tolerance import ATTENTION_REGIMES, VGGT_REGIMES, Regime

README_RESOLUTION = Resolution(350, 518)  # VGGT's example images load at this size; its README table matches it
MAX_RESOLUTION = Resolution(518, 518)  # VGGT's largest input side is 518
SMOKE_RESOLUTION = Resolution(126, 182)  # 9x13 patches: the README aspect, small enough for a 2-core CPU
ALL_FRAMES = (1, 2, 4, 8, 10, 20, 50, 100, 200)  # the frame counts of VGGT's README table


@dataclass(frozen=True)
class WorkloadInfo:
    """What a workload is, apart from the code that prepares it."""

    name: str
    summary: str
    needs_vggt: bool
    needs_cuda: bool
    regimes: tuple[Regime, ...]  # medians below a regime's bound are held to its floor, see perf.core.tolerance


AGGREGATOR = WorkloadInfo(
    "vggt-aggregator",
    "VGGT's aggregator alone, bf16 weights under bf16 autocast: what VGGT's README table times",
    needs_vggt=True,
    needs_cuda=True,
    regimes=VGGT_REGIMES,
)
MODEL = WorkloadInfo(
    "vggt-model",
    "the full VGGT (aggregator, camera, depth and point heads), fp32 weights under bf16 autocast, "
    "as VGGT's README runs it",
    needs_vggt=True,
    needs_cuda=True,
    regimes=VGGT_REGIMES,
)
ATTENTION = WorkloadInfo(
    "attention",
    "one block's two attention calls at VGGT's shapes: frame [S,16,P,64] and global [1,16,S*P,64]",
    needs_vggt=False,
    needs_cuda=False,
    regimes=ATTENTION_REGIMES,
)
WORKLOADS: Mapping[str, WorkloadInfo] = {w.name: w for w in (AGGREGATOR, MODEL, ATTENTION)}

# perf.backends.registry.BACKENDS, in its order.
SDPA_BACKEND_NAMES = ("sdpa-default", "sdpa-math", "sdpa-efficient", "sdpa-flash", "sdpa-cudnn")
BACKEND_NAMES = (*SDPA_BACKEND_NAMES, "fa2", "fa3", "fa4", "flex")


def workload_regimes() -> dict[str, tuple[Regime, ...]]:
    """Each known workload's regimes, as the tolerance policy takes them."""
    return {name: workload.regimes for name, workload in WORKLOADS.items()}


@dataclass(frozen=True)
class Slice:
    """A cross product of axes; a profile is a union of slices."""

    workloads: tuple[str, ...]
    backends: tuple[str, ...]
    frames: tuple[int, ...]
    resolutions: tuple[Resolution, ...]


@dataclass(frozen=True)
class Profile:
    name: str
    summary: str
    slices: tuple[Slice, ...]


PROFILES = {
    p.name: p
    for p in (
        Profile(
            "smoke",
            "CPU-sized: attention at a reduced resolution; VGGT cases listed (they skip without a GPU)",
            (
                Slice(("attention",), SDPA_BACKEND_NAMES, (1, 2, 4), (SMOKE_RESOLUTION,)),
                Slice(("vggt-aggregator", "vggt-model"), ("sdpa-default",), (1,), (SMOKE_RESOLUTION,)),
            ),
        ),
        Profile(
            "quick",
            "the PR gate: launch-bound and GPU-bound aggregator cases, the full model, attention kernels",
            (
                Slice(("vggt-aggregator",), ("sdpa-default",), (1, 8, 20, 100), (README_RESOLUTION,)),
                Slice(("vggt-aggregator",), ("sdpa-default",), (20,), (MAX_RESOLUTION,)),
                Slice(("vggt-model",), ("sdpa-default",), (20,), (README_RESOLUTION,)),
                Slice(
                    ("attention",),
                    ("sdpa-default", "sdpa-efficient", "sdpa-flash", "sdpa-cudnn"),
                    (20, 100),
                    (README_RESOLUTION,),
                ),
            ),
        ),
        Profile(
            "full",
            "every workload, backend, frame count and resolution; slice it with the options",
            (Slice(tuple(WORKLOADS), BACKEND_NAMES, ALL_FRAMES, (README_RESOLUTION, MAX_RESOLUTION)),),
        ),
    )
}


def _run_order(key: CaseKey) -> tuple[str, Resolution, int, str]:
    # Workload first so each model is made resident once; backends of one input side by side.
    return (key.workload, key.resolution, key.frames, key.backend)


def matrix(
    profile: Profile,
    workloads: Sequence[str] | None = None,
    backends: Sequence[str] | None = None,
    frames: Sequence[int] | None = None,
    resolutions: Sequence[Resolution] | None = None,
) -> list[CaseKey]:
    """The profile's cases, with each axis given here replacing that axis in every slice."""
    cases: set[CaseKey] = set()
    for part in profile.slices:
        axes: Iterable[tuple[str, str, int, Resolution]] = itertools.product(
            workloads or part.workloads,
            backends or part.backends,
            frames or part.frames,
            resolutions or part.resolutions,
        )
        cases.update(CaseKey(*axis) for axis in axes)
    return sorted(cases, key=_run_order)


def parse_case_id(case_id: str) -> CaseKey:
    """The case a case id names (CaseKey.case_id's inverse), e.g. vggt-aggregator-sdpa-default-20f-350x518; a
    ValueError names what is unknown. Workload and backend names hold hyphens, so they are matched as known names."""
    for workload in sorted(WORKLOADS, key=len, reverse=True):
        if not case_id.startswith(f"{workload}-"):
            continue
        rest = case_id[len(workload) + 1 :]
        for backend in sorted(BACKEND_NAMES, key=len, reverse=True):
            if not rest.startswith(f"{backend}-"):
                continue
            frames, _, resolution = rest[len(backend) + 1 :].partition("f-")
            if not frames.isdigit() or int(frames) < 1:
                break
            key = CaseKey(workload, backend, int(frames), Resolution.parse(resolution))
            if key.case_id == case_id:
                return key
            break
        raise ValueError(
            f"case {case_id!r}: expected {workload}-BACKEND-<frames>f-HxW with a backend of {BACKEND_NAMES}"
        )
    raise ValueError(f"case {case_id!r}: no workload of {tuple(WORKLOADS)} starts it")
