"""Resolution parsing, case ids and the order of verdict kinds."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perf.core.results import CaseKey, Resolution, VerdictKind

sides = st.integers(min_value=1, max_value=100_000)
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)


def test_parse_reads_height_then_width() -> None:
    assert Resolution.parse("350x518") == Resolution(height=350, width=518)


def test_parse_ignores_surrounding_whitespace() -> None:
    assert Resolution.parse("  126x182\n") == Resolution(126, 182)


def test_parse_accepts_leading_zeros_as_decimal() -> None:
    assert Resolution.parse("0350x0518") == Resolution(350, 518)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "350",
        "350x",
        "x518",
        "350X518",
        "350*518",
        "350 x 518",
        "350x518x3",
        "-350x518",
        "350x-518",
        "3.5x518",
        "axb",
        "350x518px",
        "0x0x0",
    ],
)
def test_parse_rejects_text_that_is_not_hxw(text: str) -> None:
    with pytest.raises(ValueError, match="is not HxW"):
        Resolution.parse(text)


@pytest.mark.parametrize("text", ["0x518", "350x0", "0x0", "000x518"])
def test_parse_rejects_a_zero_side(text: str) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        Resolution.parse(text)


def test_resolution_prints_as_hxw() -> None:
    assert str(Resolution(350, 518)) == "350x518"


@settings(max_examples=50, deadline=None)
@given(height=sides, width=sides)
def test_parse_reads_back_what_str_writes(height: int, width: int) -> None:
    resolution = Resolution(14 * height, 14 * width)
    assert Resolution.parse(str(resolution)) == resolution


def test_resolutions_order_by_height_then_width() -> None:
    assert sorted([Resolution(518, 518), Resolution(350, 600), Resolution(350, 518)]) == [
        Resolution(350, 518),
        Resolution(350, 600),
        Resolution(518, 518),
    ]


def test_case_id_names_workload_backend_frames_and_resolution() -> None:
    key = CaseKey("vggt-aggregator", "sdpa-flash", 20, Resolution(350, 518))
    assert key.case_id == "vggt-aggregator-sdpa-flash-20f-350x518"


@settings(max_examples=50, deadline=None)
@given(workload=names, backend=names, frames=st.integers(1, 10_000), height=sides, width=sides)
def test_case_id_follows_the_documented_format(
    workload: str, backend: str, frames: int, height: int, width: int
) -> None:
    key = CaseKey(workload, backend, frames, Resolution(height, width))
    assert key.case_id == f"{workload}-{backend}-{frames}f-{height}x{width}"


def test_case_id_is_stable_across_equal_keys() -> None:
    first = CaseKey("attention", "sdpa-math", 4, Resolution(126, 182))
    second = CaseKey("attention", "sdpa-math", 4, Resolution.parse("126x182"))
    assert first is not second
    assert first == second
    assert hash(first) == hash(second)
    assert first.case_id == second.case_id == "attention-sdpa-math-4f-126x182"
    assert first.case_id == first.case_id  # a property, recomputed: still the same text


def test_case_id_differs_when_any_axis_differs() -> None:
    base = CaseKey("attention", "sdpa-math", 4, Resolution(126, 182))
    variants = [
        dataclasses.replace(base, workload="vggt-model"),
        dataclasses.replace(base, backend="sdpa-flash"),
        dataclasses.replace(base, frames=8),
        dataclasses.replace(base, resolution=Resolution(182, 126)),
    ]
    ids = {base.case_id, *(variant.case_id for variant in variants)}
    assert len(ids) == 5


def test_case_keys_are_frozen() -> None:
    key = CaseKey("attention", "sdpa-math", 4, Resolution(126, 182))
    with pytest.raises(dataclasses.FrozenInstanceError):
        key.frames = 8  # type: ignore[misc]


def test_verdict_kinds_are_ordered_worst_first() -> None:
    assert sorted(VerdictKind, key=lambda kind: kind.rank) == [
        VerdictKind.WRONG,
        VerdictKind.REGRESSION,
        VerdictKind.MISSING,
        VerdictKind.OOM,
        VerdictKind.SKIPPED,
        VerdictKind.IMPROVED,
        VerdictKind.NEW,
        VerdictKind.PASS,
    ]


def test_verdict_rank_counts_from_zero_without_gaps() -> None:
    assert [kind.rank for kind in VerdictKind] == list(range(len(VerdictKind)))
    assert VerdictKind.WRONG.rank == 0
    assert VerdictKind.PASS.rank == len(VerdictKind) - 1


def test_only_a_wrong_measurement_outranks_a_regression() -> None:
    others = [kind for kind in VerdictKind if kind not in (VerdictKind.REGRESSION, VerdictKind.WRONG)]
    assert all(VerdictKind.REGRESSION.rank < kind.rank for kind in others)
    assert min(VerdictKind, key=lambda kind: kind.rank) is VerdictKind.WRONG


@pytest.mark.parametrize("text", ["350x500", "351x518", "13x14"])
def test_a_side_vggt_cannot_patch_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="multiples of 14"):
        Resolution.parse(text)
