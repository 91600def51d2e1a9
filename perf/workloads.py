"""Workloads, profiles and the case matrix: what a run measures, as data."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from perf.attention import prepare_attention
from perf.backends import BACKENDS
from perf.model import prepare_aggregator, prepare_model
from perf.results import CaseKey, Resolution
from perf.runtime import Prepared, Runtime
from perf.stats import ATTENTION_REGIMES, VGGT_REGIMES, Regime

README_RESOLUTION = Resolution(350, 518)  # VGGT's example images load at this size; its README table matches it
MAX_RESOLUTION = Resolution(518, 518)  # VGGT's largest input side is 518
SMOKE_RESOLUTION = Resolution(126, 182)  # 9x13 patches: the README aspect, small enough for a 2-core CPU
ALL_FRAMES = (1, 2, 4, 8, 10, 20, 50, 100, 200)  # the frame counts of VGGT's README table


@dataclass(frozen=True)
class Workload:
    name: str
    summary: str
    needs_vggt: bool
    needs_cuda: bool
    prepare: Callable[[CaseKey, Runtime], Prepared]
    regimes: tuple[Regime, ...]  # medians below a regime's bound are held to its floor, see perf.stats


WORKLOADS = {
    w.name: w
    for w in (
        Workload(
            "vggt-aggregator",
            "VGGT's aggregator alone, bf16 weights under bf16 autocast: what VGGT's README table times",
            needs_vggt=True,
            needs_cuda=True,
            prepare=prepare_aggregator,
            regimes=VGGT_REGIMES,
        ),
        Workload(
            "vggt-model",
            "the full VGGT (aggregator, camera, depth and point heads), fp32 weights under bf16 autocast, "
            "as VGGT's README runs it",
            needs_vggt=True,
            needs_cuda=True,
            prepare=prepare_model,
            regimes=VGGT_REGIMES,
        ),
        Workload(
            "attention",
            "one block's two attention calls at VGGT's shapes: frame [S,16,P,64] and global [1,16,S*P,64]",
            needs_vggt=False,
            needs_cuda=False,
            prepare=prepare_attention,
            regimes=ATTENTION_REGIMES,
        ),
    )
}


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


_SDPA = ("sdpa-default", "sdpa-math", "sdpa-efficient", "sdpa-flash", "sdpa-cudnn")
PROFILES = {
    p.name: p
    for p in (
        Profile(
            "smoke",
            "CPU-sized: attention at a reduced resolution; VGGT cases listed (they skip without a GPU)",
            (
                Slice(("attention",), _SDPA, (1, 2, 4), (SMOKE_RESOLUTION,)),
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
            (Slice(tuple(WORKLOADS), tuple(BACKENDS), ALL_FRAMES, (README_RESOLUTION, MAX_RESOLUTION)),),
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
