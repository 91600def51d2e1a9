"""Baseline files: exact JSON round trip, merge, strict validation and locked concurrent updates.

Atomic writes, and kill -9 in the window they protect, are tested in test_atomic_write.py.
"""

from __future__ import annotations

import errno
import json
import math
import multiprocessing
import os
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from perf.core.baselines import Baseline, BaselineEntry, BaselineError, RunInfo, merge
from perf.core.results import CaseKey, Evidence, Memory, Resolution, Timing
from perf.storage.baseline_codec import SCHEMA_VERSION, from_json, render_json, to_json
from perf.storage.baseline_file import load_baseline, update_baseline, write_atomically

DEVICE = {"name": "Test GPU", "slug": "test-gpu", "total_memory_bytes": "1024"}
FILE_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

# ---------------------------------------------------------------- strategies

names = st.text(min_size=1, max_size=8)
seconds = st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False)
medians = st.floats(min_value=1e-12, max_value=1e6, allow_nan=False, allow_infinity=False)
fractions = st.floats(min_value=0.0, max_value=10.0, allow_nan=False, allow_infinity=False)
byte_counts = st.integers(min_value=0, max_value=2**62)
run_infos = st.builds(
    RunInfo, measured_at=st.text(max_size=25), command=st.text(max_size=40), environment=st.dictionaries(names, names)
)


@st.composite
def timings(draw: st.DrawFn) -> Timing:
    """A Timing with or without round samples; with them, one per round, as the suite records them."""
    samples = tuple(draw(st.lists(seconds, max_size=6)))
    rounds = len(samples) or draw(st.integers(min_value=1, max_value=10**6))
    return Timing(draw(medians), draw(seconds), draw(seconds), draw(seconds), rounds, samples)


keys = st.builds(
    CaseKey,
    workload=names,
    backend=names,
    frames=st.integers(min_value=1, max_value=10**6),
    resolution=st.builds(Resolution, st.integers(1, 4096), st.integers(1, 4096)),
)


def entries_of(run_ids: st.SearchStrategy[str]) -> st.SearchStrategy[BaselineEntry]:
    return st.builds(
        BaselineEntry,
        key=keys,
        dtype=st.sampled_from(["bf16", "fp16", "fp32"]) | names,
        timing=timings(),
        memory=st.none() | st.builds(Memory, byte_counts, byte_counts),
        time_tolerance=fractions,
        memory_tolerance=fractions,
        run=run_ids,
        evidence=st.builds(Evidence, st.text(max_size=30), st.none() | seconds, seconds),
    )


@st.composite
def baselines(draw: st.DrawFn, min_entries: int = 0) -> Baseline:
    device = {**draw(st.dictionaries(names, st.text(max_size=10), max_size=3)), "slug": draw(names)}
    run_ids = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    runs = {run_id: draw(run_infos) for run_id in run_ids}
    drawn = draw(st.lists(entries_of(st.sampled_from(run_ids)), min_size=min_entries, max_size=6))
    return Baseline(device, runs, {entry.key.case_id: entry for entry in drawn})


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10)
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
)


DELETE = object()


def entry_document(
    case: str = "attention", run: str = "r", median_s: float = 0.25, memory: int | None = None
) -> dict[str, Any]:
    key = CaseKey(case, "sdpa-math", 2, Resolution(28, 28))
    entry = BaselineEntry(
        key, "fp32", Timing(median_s, 0.01, 0.2, 0.3, 5), Memory(memory, memory) if memory is not None else None,
        0.05, 0.02, run,
    )  # fmt: skip
    return to_json(Baseline(DEVICE, {run: RunInfo("t", "c", {})}, {key.case_id: entry}))


def write_text(path: Path, text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes(data)
    return data


def assert_names(error: pytest.ExceptionInfo[BaselineError], path: Path, field: str) -> None:
    message = str(error.value)
    assert message.startswith(f"{path}: "), message
    assert field in message, message
    assert "\n" not in message


# ---------------------------------------------------------------- round trip


@given(baselines())
@settings(max_examples=150, deadline=None)
def test_json_round_trip_is_exact(baseline: Baseline) -> None:
    document = to_json(baseline)
    text = json.dumps(document, indent=2)
    back = from_json(json.loads(text), Path("b.json"))
    assert back == baseline
    assert json.dumps(to_json(back), indent=2) == text
    assert document["schema_version"] == SCHEMA_VERSION
    assert list(document["entries"]) == sorted(baseline.entries)


@given(baselines())
@FILE_SETTINGS
def test_file_round_trip_is_exact_and_stable(tmp_path: Path, baseline: Baseline) -> None:
    path = tmp_path / "nested" / "b.json"
    write_atomically(path, baseline)
    first = path.read_bytes()
    assert load_baseline(path) == baseline
    write_atomically(path, load_baseline(path))  # type: ignore[arg-type]
    assert path.read_bytes() == first
    assert first.endswith(b"\n")
    assert [p.name for p in path.parent.iterdir()] == ["b.json"]  # no temporary left behind


@given(baselines())
@settings(max_examples=60, deadline=None)
def test_the_written_text_is_json_with_lists_on_one_line(baseline: Baseline) -> None:
    document = to_json(baseline)
    text = render_json(document)
    assert json.loads(text) == document
    assert not any(line.rstrip().endswith("[") for line in text.splitlines())
    if not any(entry.timing.samples_s for entry in baseline.entries.values()):
        assert text == json.dumps(document, indent=2)  # files without samples are written as they always were


def test_the_committed_h100_baseline_is_rewritten_byte_for_byte_with_and_without_samples() -> None:
    # Entries of 2026-11-26 carry no round samples (ratio-only), those of 2026-11-27 do: one file holds both.
    path = Path(__file__).parents[2] / "baselines" / "nvidia-h100-80gb-hbm3.json"
    baseline = load_baseline(path)
    assert baseline is not None and baseline.entries
    samples = [bool(entry.timing.samples_s) for entry in baseline.entries.values()]
    assert any(samples) and not all(samples)
    assert render_json(to_json(baseline)) + "\n" == path.read_text()  # as write_atomically writes it


def test_round_samples_are_kept_exactly_in_the_order_they_ran(tmp_path: Path) -> None:
    samples = (0.30000000000000004, 0.1, 1e-5, 0.2999999999999999, 7.0)
    document = entry_document()
    (raw,) = document["entries"].values()
    raw["samples_s"] = list(samples)
    (entry,) = from_json(document, Path("b.json")).entries.values()
    assert entry.timing.samples_s == samples
    path = tmp_path / "b.json"
    write_atomically(path, from_json(document, path))
    assert f'"samples_s": {json.dumps(list(samples))},' in path.read_text()
    (entry,) = load_baseline(path).entries.values()  # type: ignore[union-attr]
    assert entry.timing.samples_s == samples


@pytest.mark.parametrize("value", [DELETE, None, []], ids=["absent", "null", "empty"])
def test_an_entry_without_round_samples_loads_with_none(value: Any) -> None:
    document = entry_document()
    (raw,) = document["entries"].values()
    if value is not DELETE:
        raw["samples_s"] = value
    (entry,) = from_json(document, Path("old.json")).entries.values()
    assert entry.timing.samples_s == ()


@pytest.mark.parametrize(
    ("value", "field", "problem"),
    [
        ("0.1 0.2", "samples_s", "expected a list, got str"),
        ({"0": 0.1}, "samples_s", "expected a list, got dict"),
        (0.1, "samples_s", "expected a list, got float"),
        ([0.1, "0.2", 0.3, 0.4, 0.5], "samples_s[1]", "expected an integer or a number, got str"),
        ([0.1, 0.2, None, 0.4, 0.5], "samples_s[2]", "expected an integer or a number, got NoneType"),
        ([True, 0.2, 0.3, 0.4, 0.5], "samples_s[0]", "expected an integer or a number, got bool"),
        ([0.1, 0.2, 0.3, [0.4], 0.5], "samples_s[3]", "expected an integer or a number, got list"),
        ([0.1, 0.2, 0.3, 0.4, -1e-9], "samples_s[4]", "expected a finite number >= 0.0, got -1e-09"),
        ([0.1, float("nan"), 0.3, 0.4, 0.5], "samples_s[1]", "expected a finite number >= 0.0, got nan"),
        ([0.1, 0.2, float("inf"), 0.4, 0.5], "samples_s[2]", "expected a finite number >= 0.0, got inf"),
        ([0.1, 0.2, 0.3, 10**400, 0.5], "samples_s[3]", "expected a finite number >= 0.0, got inf"),
        ([0.1, 0.2, 0.3], "samples_s", "holds 3 rounds, rounds says 5"),
    ],
)
def test_malformed_round_samples_are_named(value: Any, field: str, problem: str) -> None:
    document = entry_document()
    (case_id, raw), *_ = document["entries"].items()
    raw["samples_s"] = value
    with pytest.raises(BaselineError) as error:
        from_json(document, Path("b.json"))
    assert_names(error, Path("b.json"), f"entries.{case_id}.{field}: {problem}")


@given(json_values)
@settings(max_examples=100, deadline=None)
@example([0.1, 0.2, 0.3, 0.4, 0.5])
def test_any_json_as_round_samples_loads_or_raises_baseline_error(value: Any) -> None:
    document = entry_document()
    (case_id, raw), *_ = document["entries"].items()
    raw["samples_s"] = value
    try:
        (entry,) = from_json(document, Path("b.json")).entries.values()
    except BaselineError as error:
        assert f"entries.{case_id}.samples_s" in str(error)
    else:
        assert all(math.isfinite(sample) and sample >= 0 for sample in entry.timing.samples_s)
        assert len(entry.timing.samples_s) in (0, entry.timing.rounds)


def test_load_of_a_missing_file_is_none(tmp_path: Path) -> None:
    assert load_baseline(tmp_path / "absent.json") is None


def test_write_keeps_the_files_permissions(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text("{}")
    path.chmod(0o640)
    write_atomically(path, Baseline(DEVICE))
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    fresh = tmp_path / "fresh.json"
    write_atomically(fresh, Baseline(DEVICE))
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask


# ---------------------------------------------------------------- merge and update


@given(baselines(), st.data())
@settings(max_examples=150, deadline=None)
def test_merge_replaces_measured_keeps_others_and_their_runs(baseline: Baseline, data: st.DataObject) -> None:
    run_id = data.draw(names, label="run_id")
    run = data.draw(run_infos, label="run")
    new = data.draw(st.lists(entries_of(names), max_size=4), label="new")
    # Half the time measure again some of the existing cases.
    if baseline.entries and data.draw(st.booleans()):
        again = data.draw(st.lists(st.sampled_from(sorted(baseline.entries)), max_size=3, unique=True))
        new += [replace(baseline.entries[c], timing=replace(baseline.entries[c].timing, rounds=7)) for c in again]
    merged = merge(baseline, new, run_id, run)

    measured = {entry.key.case_id: entry for entry in new}
    assert set(merged.entries) == set(baseline.entries) | set(measured)
    for case_id, entry in merged.entries.items():
        if case_id in measured:
            assert replace(entry, run="") == replace(measured[case_id], run="")
            assert merged.runs[entry.run] == run
        else:  # untouched: the same entry, measured by the same run as before
            assert entry == baseline.entries[case_id]
            assert merged.runs[entry.run] == baseline.runs[entry.run]
    assert set(merged.runs) == {entry.run for entry in merged.entries.values()}
    assert merged.device == baseline.device


@given(baselines(min_entries=1), run_infos)
@settings(max_examples=60, deadline=None)
def test_merge_under_an_existing_run_id_keeps_the_old_provenance(baseline: Baseline, run: RunInfo) -> None:
    # Two updates within one second share the plugin's run id (measured_at); untouched entries keep their run.
    kept_case, kept = next(iter(baseline.entries.items()))
    other = replace(kept, key=replace(kept.key, workload=kept.key.workload + "-new"))
    merged = merge(baseline, [other], kept.run, run)
    assert merged.entries[kept_case] == replace(kept, run=merged.entries[kept_case].run)
    assert merged.runs[merged.entries[kept_case].run] == baseline.runs[kept.run]
    assert merged.runs[merged.entries[other.key.case_id].run] == run


@given(baselines(), st.data())
@settings(max_examples=100, deadline=None)
def test_merge_of_disjoint_entry_sets_is_order_independent(baseline: Baseline, data: st.DataObject) -> None:
    run_ids = data.draw(st.lists(names.filter(lambda r: r not in baseline.runs), min_size=2, max_size=2, unique=True))
    first = data.draw(st.lists(entries_of(names), max_size=4))
    taken = {entry.key.case_id for entry in first}
    second = data.draw(st.lists(entries_of(names).filter(lambda e: e.key.case_id not in taken), max_size=4))
    runs = data.draw(st.lists(run_infos, min_size=2, max_size=2))
    one_way = merge(merge(baseline, first, run_ids[0], runs[0]), second, run_ids[1], runs[1])
    other_way = merge(merge(baseline, second, run_ids[1], runs[1]), first, run_ids[0], runs[0])
    assert one_way == other_way
    assert to_json(one_way) == to_json(other_way)


@given(baselines(), names, run_infos)
@settings(max_examples=100, deadline=None)
def test_merge_drops_runs_no_entry_refers_to(baseline: Baseline, run_id: str, run: RunInfo) -> None:
    with_orphan = replace(baseline, runs={**baseline.runs, "orphan-run": RunInfo("then", "pytest", {})})
    merged = merge(with_orphan, [], run_id, run)
    assert set(merged.runs) == {entry.run for entry in baseline.entries.values()}
    assert "orphan-run" not in merged.runs
    assert run_id not in merged.runs or run_id in baseline.runs
    assert merged.entries == baseline.entries


@given(baselines(), st.lists(entries_of(names), max_size=4), run_infos)
@FILE_SETTINGS
def test_update_baseline_writes_the_merge(
    tmp_path: Path, baseline: Baseline, new: list[BaselineEntry], run: RunInfo
) -> None:
    path = tmp_path / "b.json"
    write_atomically(path, baseline)
    returned = update_baseline(path, baseline.device, new, "update-run", run)
    assert returned == merge(baseline, new, "update-run", run)
    assert load_baseline(path) == returned


def test_update_creates_a_missing_file_and_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "baselines" / "test-gpu.json"
    entry = BaselineEntry(
        CaseKey("attention", "sdpa-math", 1, Resolution(28, 28)), "fp32", Timing(1e-3, 0, 1e-3, 1e-3, 3), None,
        0.05, 0.02, "",
    )  # fmt: skip
    merged = update_baseline(path, DEVICE, [entry], "run-1", RunInfo("now", "pytest", {"torch": "x"}))
    assert load_baseline(path) == merged
    assert merged.device == DEVICE
    assert merged.entries == {entry.key.case_id: replace(entry, run="run-1")}


@pytest.mark.parametrize(
    "document",
    [
        to_json(Baseline({**DEVICE, "slug": "another-gpu"})),
        to_json(Baseline({"name": "no slug at all"})),
    ],
    ids=["other-slug", "no-slug"],
)
def test_update_refuses_another_devices_file(tmp_path: Path, document: dict[str, Any]) -> None:
    path = tmp_path / "b.json"
    before = write_text(path, json.dumps(document))
    with pytest.raises(BaselineError) as error:
        update_baseline(path, DEVICE, [], "run", RunInfo("t", "c", {}))
    assert_names(error, path, "test-gpu")
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"schema_version": 1, "device": {"slug": "test-gpu"}, "runs": {}, "entries": {', "not valid JSON at line 1"),
        (json.dumps({**entry_document(), "schema_version": 2}), "schema_version: is 2"),
        (json.dumps(entry_document()).replace('"frames": 2', '"frames": "2"'), "-28x28.frames: expected an integer"),
        ("[]", "file: expected an object"),
        ("\xff\xfe garbage", "cannot be read"),
    ],
    ids=["truncated", "schema", "mistyped", "array", "binary"],
)
def test_failed_update_leaves_the_file_byte_identical(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "b.json"
    before = write_text(path, text.encode("latin-1") if text.startswith("\xff") else text)
    entry = BaselineEntry(
        CaseKey("attention", "sdpa-math", 2, Resolution(28, 28)), "fp32", Timing(1, 0, 1, 1, 3), None, 0, 0, ""
    )
    with pytest.raises(BaselineError) as error:
        update_baseline(path, {"slug": "test-gpu"}, [entry], "run", RunInfo("t", "c", {}))
    assert_names(error, path, field)
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_failed_write_is_a_baseline_error_and_leaves_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "b.json"
    write_atomically(path, Baseline(DEVICE))
    before = path.read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(BaselineError) as error:
        update_baseline(path, DEVICE, [], "run", RunInfo("t", "c", {}))
    assert_names(error, path, "No space left on device")
    assert path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# ---------------------------------------------------------------- validation


@given(json_values | st.fixed_dictionaries({}, optional={f: json_values for f in ("device", "runs", "entries")}))
@settings(max_examples=300, deadline=None)
@example({"schema_version": 1, "device": {"slug": 3}, "runs": {}, "entries": {}})
@example({"schema_version": True, "device": {}, "runs": {}, "entries": {}})
@example({"schema_version": 1, "device": {}, "runs": {"r": []}, "entries": {}})
@example({"schema_version": 1, "device": {}, "runs": {}, "entries": {"x": None}})
def test_any_json_value_loads_or_raises_baseline_error(value: Any) -> None:
    path = Path("/baselines/x.json")
    for document in (value, {"schema_version": 1, **value} if isinstance(value, dict) else value):
        try:
            baseline = from_json(document, path)
        except BaselineError as error:
            assert str(error).startswith(f"{path}: ")
            field = str(error).removeprefix(f"{path}: ")
            assert field.startswith(("file", "schema_version:", "device:", "runs.", "entries.")), field
        else:
            assert isinstance(baseline, Baseline)


@given(st.text(max_size=60).map(str.encode) | st.binary(max_size=60))
@FILE_SETTINGS
@example(b"1" * 5000)  # beyond Python's integer digit limit: a ValueError that is no JSONDecodeError
@example(b"[" * 100_000)  # nesting beyond the recursion limit
@example(b'{"schema_version": 1, "device": {}, "runs": {}, "entries": {}')
@example(b"NaN")
@example(b"\xef\xbb\xbf{}")  # a UTF-8 byte order mark
def test_any_text_loads_or_raises_baseline_error(tmp_path: Path, text: bytes) -> None:
    path = tmp_path / "b.json"
    path.write_bytes(text)
    try:
        baseline = load_baseline(path)
    except BaselineError as error:
        assert str(error).startswith(f"{path}: ")
        assert "\n" not in str(error)
    else:
        assert isinstance(baseline, Baseline)


def test_invalid_json_names_the_file_and_position(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text('{\n  "schema_version": 1,\n  "device": {,\n}')
    with pytest.raises(BaselineError) as error:
        load_baseline(path)
    assert_names(error, path, "line 3")


def test_undecodable_bytes_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_bytes(b'{"schema_version": 1, "device": {"name": "\xff"}}')
    with pytest.raises(BaselineError) as error:
        load_baseline(path)
    assert_names(error, path, "cannot be read")


@given(json_values.filter(lambda v: not isinstance(v, dict)))
@settings(max_examples=60, deadline=None)
def test_a_non_object_top_level_names_the_file(value: Any) -> None:
    path = Path("b.json")
    with pytest.raises(BaselineError) as error:
        from_json(value, path)
    assert_names(error, path, "file: expected an object")


@given(st.integers().filter(lambda v: v != SCHEMA_VERSION) | json_scalars.filter(lambda v: type(v) is not int))
@settings(max_examples=60, deadline=None)
def test_a_wrong_schema_version_is_refused(version: Any) -> None:
    path = Path("b.json")
    with pytest.raises(BaselineError) as error:
        from_json({**entry_document(), "schema_version": version}, path)
    assert_names(error, path, "schema_version")


def test_a_missing_schema_version_is_refused() -> None:
    document = entry_document()
    del document["schema_version"]
    with pytest.raises(BaselineError) as error:
        from_json(document, Path("b.json"))
    assert_names(error, Path("b.json"), "schema_version: missing")


not_str = st.none() | st.booleans() | st.integers() | st.floats() | st.lists(st.text(), max_size=1) | st.just({})
not_number = st.none() | st.booleans() | st.text(max_size=4) | st.lists(st.integers(), max_size=1) | st.just({})
not_int = not_number | st.floats()  # 2.0 included: JSON integers are written without a point
ENTRY_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "workload": not_str,
    "backend": not_str,
    "dtype": not_str,
    "run": not_str,
    "frames": not_int | st.integers(max_value=0),
    "height": not_int | st.integers(max_value=0),
    "width": not_int | st.integers(max_value=0),
    "rounds": not_int | st.integers(max_value=0),
    "median_s": not_number | st.floats(max_value=1e-13) | st.just(float("nan")) | st.just(10**400),
    "iqr_s": not_number | st.floats(max_value=-1e-300) | st.just(float("inf")),
    "min_s": not_number | st.floats(max_value=-1e-300),
    "max_s": not_number | st.floats(max_value=-1e-300),
    "time_tolerance": not_number | st.floats(max_value=-1e-300),
    "memory_tolerance": not_number | st.floats(max_value=-1e-300),
    "peak_memory_bytes": st.floats() | st.text(max_size=3) | st.booleans() | st.integers(max_value=-1),
    "peak_reserved_bytes": st.floats() | st.text(max_size=3) | st.booleans() | st.integers(max_value=-1),
}


field_changes = st.sampled_from(sorted(ENTRY_FIELDS)).flatmap(
    lambda field: st.tuples(st.just(field), st.just(DELETE) | ENTRY_FIELDS[field])
)


@given(field_changes, st.none() | st.integers(0, 2**40))
@settings(max_examples=300, deadline=None)
@example(("peak_reserved_bytes", DELETE), None)  # memory unmeasured: its partner field is still required
@example(("peak_reserved_bytes", "wrong"), None)
@example(("peak_reserved_bytes", 5), None)  # reserved without allocated describes no measurement
def test_a_missing_or_mistyped_entry_field_is_named(change: tuple[str, Any], memory: int | None) -> None:
    field, value = change
    path = Path("/repo/baselines/test-gpu.json")
    document = entry_document(memory=memory)
    (case_id, entry), = document["entries"].items()  # fmt: skip
    if value is DELETE:
        del entry[field]
    else:
        entry[field] = value
    with pytest.raises(BaselineError) as error:
        from_json(document, path)
    assert_names(error, path, f"entries.{case_id}.{field}")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["entries"]["attention-sdpa-math-2f-28x28"].update(workload="other"), "entries.attention-sdpa"),
        (lambda d: d["entries"]["attention-sdpa-math-2f-28x28"].update(run="nowhere"), "'nowhere'"),
        (lambda d: d["entries"].update({"x": []}), "entries.x: expected an object"),
        (lambda d: d["runs"]["r"].pop("command"), "runs.r.command: missing"),
        (lambda d: d["runs"]["r"].update(measured_at=3), "runs.r.measured_at"),
        (lambda d: d["runs"]["r"].update(environment={"torch": 2}), "runs.r.environment"),
        (lambda d: d["runs"].update(r="x"), "runs.r: expected an object"),
        (lambda d: d.update(runs=[]), "file.runs"),
        (lambda d: d.pop("entries"), "file.entries: missing"),
        (lambda d: d.update(device={"slug": None}), "device"),
        (lambda d: d.update(device="test-gpu"), "file.device"),
    ],
    ids=[
        "case-mismatch", "unknown-run", "entry-not-object", "run-missing-field", "run-mistyped", "environment",
        "run-not-object", "runs-not-object", "no-entries", "device-values", "device-not-object",
    ],
)  # fmt: skip
def test_structural_problems_are_named(change: Any, field: str) -> None:
    document = entry_document()
    change(document)
    path = Path("b.json")
    with pytest.raises(BaselineError) as error:
        from_json(document, path)
    assert_names(error, path, field)


# ---------------------------------------------------------------- locking
# Atomic replacement, and kill -9 in the window it protects, are tested in test_atomic_write.py.


def _updates(workers: int, per_worker: int) -> list[tuple[Any, ...]]:
    tasks = []
    for worker in range(workers):
        for n in range(per_worker):
            key = CaseKey(f"worker{worker}", "sdpa-math", n + 1, Resolution(28, 28))
            entry = BaselineEntry(key, "fp32", Timing(0.5, 0.0, 0.5, 0.5, 3), None, 0.05, 0.02, "")
            tasks.append((worker, [entry], f"run-{worker}-{n}", RunInfo(str(n), f"worker {worker}", {})))
    return tasks


def test_concurrent_updaters_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "test-gpu.json"
    # A large file widens each update's read-merge-write window, so unlocked updaters would overwrite each other.
    seed_entries = {
        f"attention-sdpa-math-{i}f-28x28": BaselineEntry(
            CaseKey("attention", "sdpa-math", i, Resolution(28, 28)), "fp32", Timing(1, 0, 1, 1, 3), None, 0, 0, "seed"
        )
        for i in range(1, 1500)
    }
    seed = Baseline(DEVICE, {"seed": RunInfo("t", "seed", {})}, seed_entries)
    write_atomically(path, seed)
    tasks = _updates(workers=2, per_worker=12)
    context = multiprocessing.get_context("spawn")  # the parent holds torch's threads: no fork
    with context.Pool(2) as pool:
        pool.starmap(update_baseline, [(path, DEVICE, entries, run_id, run) for _, entries, run_id, run in tasks])
    final = load_baseline(path)
    assert final is not None
    expected = set(seed_entries) | {entries[0].key.case_id for _, entries, _, _ in tasks}
    assert set(final.entries) == expected
    for _, entries, run_id, run in tasks:
        assert final.entries[entries[0].key.case_id].run == run_id
        assert final.runs[run_id] == run
    assert final.runs["seed"] == seed.runs["seed"]


def test_an_entry_written_before_evidence_existed_loads_with_none_recorded() -> None:
    document = entry_document()
    (raw,) = document["entries"].values()
    for field in ("attention_kernel", "relative_error", "compile_s"):
        del raw[field]
    (entry,) = from_json(document, Path("old.json")).entries.values()
    assert entry.evidence == Evidence()


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("attention_kernel", 3, "expected a string, got int"),
        ("relative_error", "small", "expected an integer or a number, got str"),
        ("compile_s", -1.0, "expected a finite number >= 0.0, got -1.0"),
    ],
)
def test_a_mistyped_evidence_field_is_named(field: str, value: Any, problem: str) -> None:
    document = entry_document()
    (case_id, raw), *_ = document["entries"].items()
    raw[field] = value
    with pytest.raises(BaselineError) as error:
        from_json(document, Path("b.json"))
    assert f"entries.{case_id}.{field}: {problem}" in str(error.value)
