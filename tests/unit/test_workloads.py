"""The case matrix of each profile, its axis overrides and its run order."""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from perf.backends.registry import BACKENDS
from perf.core.catalog import (
    ALL_FRAMES,
    MAX_RESOLUTION,
    PROFILES,
    README_RESOLUTION,
    SMOKE_RESOLUTION,
    Profile,
    Slice,
    matrix,
)
from perf.core.results import CaseKey, Resolution
from perf.workloads.attention import prepare_attention
from perf.workloads.registry import WORKLOADS
from perf.workloads.runtime import Runtime
from perf.workloads.vggt import VggtModels

SMOKE, QUICK, FULL = PROFILES["smoke"], PROFILES["quick"], PROFILES["full"]


def run_order(key: CaseKey) -> tuple[str, Resolution, int, str]:
    return (key.workload, key.resolution, key.frames, key.backend)


def test_smoke_matrix_is_exactly_its_slices_in_run_order() -> None:
    attention = [
        CaseKey("attention", backend, frames, SMOKE_RESOLUTION)
        for frames in (1, 2, 4)
        for backend in sorted(("sdpa-default", "sdpa-math", "sdpa-efficient", "sdpa-flash", "sdpa-cudnn"))
    ]
    assert matrix(SMOKE) == [
        *attention,
        CaseKey("vggt-aggregator", "sdpa-default", 1, SMOKE_RESOLUTION),
        CaseKey("vggt-model", "sdpa-default", 1, SMOKE_RESOLUTION),
    ]


def test_cases_run_by_workload_then_resolution_then_frames_then_backend() -> None:
    profile = Profile(
        "test",
        "",
        (Slice(("b-work", "a-work"), ("z-back", "a-back"), (8, 1), (Resolution(518, 518), Resolution(350, 518))),),
    )
    cases = matrix(profile)
    assert [case.case_id for case in cases[:5]] == [
        "a-work-a-back-1f-350x518",
        "a-work-z-back-1f-350x518",
        "a-work-a-back-8f-350x518",
        "a-work-z-back-8f-350x518",
        "a-work-a-back-1f-518x518",
    ]
    assert cases[8].workload == "b-work"
    assert len(cases) == 16


@pytest.mark.parametrize("profile", PROFILES.values(), ids=PROFILES.keys())
def test_every_profile_matrix_is_sorted_and_unique(profile: Profile) -> None:
    cases = matrix(profile)
    assert cases
    assert cases == sorted(cases, key=run_order)
    assert len(set(cases)) == len(cases)


def test_overlapping_slices_yield_each_case_once() -> None:
    slice_ = Slice(("attention",), ("sdpa-math",), (1, 2), (SMOKE_RESOLUTION,))
    overlapping = Slice(("attention",), ("sdpa-math", "sdpa-flash"), (2,), (SMOKE_RESOLUTION,))
    cases = matrix(Profile("overlap", "", (slice_, overlapping)))
    assert [case.case_id for case in cases] == [
        "attention-sdpa-math-1f-126x182",
        "attention-sdpa-flash-2f-126x182",
        "attention-sdpa-math-2f-126x182",
    ]


def test_overrides_that_collapse_slices_are_deduplicated() -> None:
    # quick's two aggregator slices differ only in frames and resolution; overriding both makes them one case
    cases = matrix(QUICK, backends=["sdpa-default"], frames=[20], resolutions=[README_RESOLUTION])
    assert [case.case_id for case in cases] == [
        "attention-sdpa-default-20f-350x518",
        "vggt-aggregator-sdpa-default-20f-350x518",
        "vggt-model-sdpa-default-20f-350x518",
    ]


def test_a_workload_override_collapses_every_slice_onto_that_workload() -> None:
    cases = matrix(QUICK, workloads=["vggt-aggregator"], frames=[20], resolutions=[README_RESOLUTION])
    assert [case.case_id for case in cases] == [
        "vggt-aggregator-sdpa-cudnn-20f-350x518",
        "vggt-aggregator-sdpa-default-20f-350x518",
        "vggt-aggregator-sdpa-efficient-20f-350x518",
        "vggt-aggregator-sdpa-flash-20f-350x518",
    ]


def test_a_frames_override_replaces_frames_in_every_slice() -> None:
    cases = matrix(QUICK, frames=[3])
    assert {case.frames for case in cases} == {3}
    untouched = matrix(QUICK)
    assert {(c.workload, c.backend, c.resolution) for c in cases} == {
        (c.workload, c.backend, c.resolution) for c in untouched
    }


def test_a_backend_override_replaces_backends_in_every_slice() -> None:
    cases = matrix(SMOKE, backends=["sdpa-math"])
    assert [case.case_id for case in cases] == [
        "attention-sdpa-math-1f-126x182",
        "attention-sdpa-math-2f-126x182",
        "attention-sdpa-math-4f-126x182",
        "vggt-aggregator-sdpa-math-1f-126x182",
        "vggt-model-sdpa-math-1f-126x182",
    ]


def test_a_workload_override_applies_each_slice_to_that_workload() -> None:
    cases = matrix(SMOKE, workloads=["attention"])
    assert {case.workload for case in cases} == {"attention"}
    # the VGGT slice's sdpa-default at 1 frame is already in the attention slice
    assert len(cases) == 15


def test_a_resolution_override_replaces_resolutions() -> None:
    cases = matrix(QUICK, resolutions=[Resolution(70, 70), MAX_RESOLUTION])
    assert {case.resolution for case in cases} == {Resolution(70, 70), MAX_RESOLUTION}
    assert cases[0].resolution == Resolution(70, 70)


axis_subsets = st.fixed_dictionaries(
    {
        "workloads": st.one_of(st.none(), st.lists(st.sampled_from(sorted(WORKLOADS)), min_size=1, unique=True)),
        "backends": st.one_of(st.none(), st.lists(st.sampled_from(sorted(BACKENDS)), min_size=1, unique=True)),
        "frames": st.one_of(st.none(), st.lists(st.sampled_from(ALL_FRAMES), min_size=1, max_size=4)),
        "resolutions": st.one_of(st.none(), st.lists(st.sampled_from([README_RESOLUTION, MAX_RESOLUTION]), min_size=1)),
    }
)


@settings(max_examples=60, deadline=None)
@given(profile=st.sampled_from(list(PROFILES.values())), overrides=axis_subsets)
def test_matrix_is_the_sorted_union_of_overridden_slices(profile: Profile, overrides: dict) -> None:
    expected = set()
    for part in profile.slices:
        expected.update(
            CaseKey(*axes)
            for axes in itertools.product(
                overrides["workloads"] or part.workloads,
                overrides["backends"] or part.backends,
                overrides["frames"] or part.frames,
                overrides["resolutions"] or part.resolutions,
            )
        )
    assert matrix(profile, **overrides) == sorted(expected, key=run_order)


@pytest.mark.parametrize("profile", PROFILES.values(), ids=PROFILES.keys())
def test_every_profile_names_registered_workloads_and_backends(profile: Profile) -> None:
    for part in profile.slices:
        assert set(part.workloads) <= set(WORKLOADS), part
        assert set(part.backends) <= set(BACKENDS), part
        assert all(frames >= 1 for frames in part.frames)
        assert all(r.height > 0 and r.width > 0 for r in part.resolutions)


def test_profiles_and_workloads_are_keyed_by_their_names() -> None:
    assert all(name == profile.name for name, profile in PROFILES.items())
    assert all(name == workload.name for name, workload in WORKLOADS.items())
    assert {"smoke", "quick", "full"} <= set(PROFILES)


def test_full_profile_covers_every_workload_backend_frame_count_and_resolution() -> None:
    cases = matrix(FULL)
    assert {c.workload for c in cases} == set(WORKLOADS)
    assert {c.backend for c in cases} == set(BACKENDS)
    assert {c.frames for c in cases} == set(ALL_FRAMES)
    assert {c.resolution for c in cases} == {README_RESOLUTION, MAX_RESOLUTION}
    assert len(cases) == len(WORKLOADS) * len(BACKENDS) * len(ALL_FRAMES) * 2


def test_smoke_profile_is_small() -> None:
    cases = matrix(SMOKE)
    assert len(cases) <= 20
    assert max(case.frames for case in cases) <= 4
    assert {case.resolution for case in cases} == {SMOKE_RESOLUTION}
    assert SMOKE_RESOLUTION.height * SMOKE_RESOLUTION.width < README_RESOLUTION.height * README_RESOLUTION.width / 5


def test_smoke_profile_measures_something_on_a_cpu() -> None:
    cpu_cases = [
        case
        for case in matrix(SMOKE)
        if not WORKLOADS[case.workload].needs_cuda and "cpu" in BACKENDS[case.backend].device_types
    ]
    assert {case.backend for case in cpu_cases} >= {"sdpa-default", "sdpa-math"}
    assert {case.frames for case in cpu_cases} == {1, 2, 4}
    # every workload that needs a GPU is listed at a single tiny case only
    assert all(WORKLOADS[c.workload].needs_cuda is False for c in matrix(SMOKE) if c.frames > 1)


def test_the_largest_smoke_attention_case_runs_on_a_cpu() -> None:
    largest = max((c for c in matrix(SMOKE) if c.workload == "attention"), key=lambda c: c.frames)
    prepared = prepare_attention(largest, Runtime(torch.device("cpu"), VggtModels(torch.device("cpu"), None)))
    with BACKENDS["sdpa-math"].activate():
        frame_out, global_out = prepared.forward()  # type: ignore[misc]
    assert prepared.dtype == "fp32"
    assert tuple(frame_out.shape) == (4, 16, 9 * 13 + 5, 64)
    assert tuple(global_out.shape) == (1, 16, 4 * (9 * 13 + 5), 64)
