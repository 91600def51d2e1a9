"""`python -m perf baseline show|diff|prune|retolerate`: the rows they compute, and the commands on real files."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perf.cli.main import main
from perf.core.baselines import Baseline, BaselineEntry, RunInfo
from perf.core.results import CaseKey, Evidence, Memory, Resolution, Timing
from perf.core.stats import summarize_rounds
from perf.core.tolerance import ATTENTION_REGIMES, VGGT_REGIMES, retolerated, time_tolerance_for
from perf.report.baselines import (
    KERNEL_WIDTH,
    DiffRow,
    Removal,
    Side,
    diff_rows,
    entries_to_prune,
    newest_run,
    render_diff,
    run_rows,
    show_rows,
    unequal_environment_fields,
)
from perf.storage.baseline_file import load_baseline, remove_entries, rewrite, write_atomically

H100_FILE = Path(__file__).resolve().parents[2] / "baselines" / "nvidia-h100-80gb-hbm3.json"
DEVICE = {"name": "Test GPU", "slug": "test-gpu"}
GIB = 2**30
README = Resolution(350, 518)
ONE_GIB = Memory(GIB, GIB)
NO_EVIDENCE = Evidence()


def entry(
    workload: str = "attention",
    backend: str = "sdpa-math",
    frames: int = 2,
    median_s: float = 0.25,
    run: str = "r1",
    resolution: Resolution = README,
    memory: Memory | None = ONE_GIB,
    evidence: Evidence = NO_EVIDENCE,
) -> BaselineEntry:
    key = CaseKey(workload, backend, frames, resolution)
    return BaselineEntry(key, "bf16", Timing(median_s, 0.01, 0.2, 0.3, 5), memory, 0.05, 0.02, run, evidence)


def baseline_of(*entries: BaselineEntry, environment: dict[str, str] | None = None) -> Baseline:
    env = environment if environment is not None else {"torch": "2.11.0", "driver": "580"}
    runs = {e.run: RunInfo(f"2026-11-26T00:00:0{i}", "pytest", env) for i, e in enumerate(entries)}
    return Baseline(DEVICE, runs, {e.key.case_id: e for e in entries})


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, list[str], list[str]]:
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err.splitlines()


def table_rows(lines: list[str], first_cells: set[str]) -> dict[str, list[str]]:
    """The rows of a rendered table, by their first cell, split at runs of spaces."""
    rows = {}
    for line in lines:
        cells = line.split("  ")
        cells = [cell.strip() for cell in cells if cell.strip()]
        if cells and cells[0] in first_cells:
            rows[cells[0]] = cells
    return rows


# ---------------------------------------------------------------- show


def test_show_rows_format_each_field() -> None:
    long_kernel = "cudnn_generated_fort_native_sdpa_sm90_flash_fprop_wgmma_f16_knob_7_64x128x64_4x1x1"
    measured = entry(
        median_s=0.123456, evidence=Evidence(long_kernel, 0.00123, 0.0), memory=Memory(3 * GIB // 2, 2 * GIB)
    )
    bare = entry(backend="sdpa-default", frames=10, median_s=12.3456, memory=None, run="r2")
    rows = show_rows(baseline_of(measured, bare))
    assert rows[0] == (
        "attention-sdpa-math-2f-350x518", "sdpa-math", "2", "350x518", "bf16", "0.1235", "8.1%", "5", "1", "1.50",
        "+5%", "1.23e-03", long_kernel[: KERNEL_WIDTH - 1] + "…", "r1",
    )  # fmt: skip
    assert len(rows[0][12]) == KERNEL_WIDTH
    assert rows[1][5:] == ("12.35", "0.1%", "5", "1", "-", "+5%", "-", "-", "r2")
    pooled = replace(measured, process_medians_s=(0.12, 0.1235, 0.125))
    assert show_rows(baseline_of(pooled))[0][8] == "3 (sd 2.1%)"  # stdev 0.00257 over the median 0.1235


def test_show_rows_follow_the_suites_run_order_not_the_alphabet() -> None:
    cases = [entry(frames=10), entry(frames=2), entry(frames=2, resolution=Resolution(518, 518))]
    rows = show_rows(baseline_of(*cases))
    assert [row[0] for row in rows] == [
        "attention-sdpa-math-2f-350x518",
        "attention-sdpa-math-10f-350x518",
        "attention-sdpa-math-2f-518x518",
    ]


def test_run_rows_shorten_a_vggt_commit_and_mark_missing_fields() -> None:
    commit = "44b3afbd1869d8bde4894dd8ea1e293112dd5eba"
    rows = run_rows(baseline_of(entry(), environment={"torch": "2.11.0", "vggt": commit}))
    assert rows == [("r1", "2026-11-26T00:00:00", "2.11.0", "-", "-", commit[:12])]


def test_show_of_the_committed_h100_file_lists_every_entry_run_and_the_device(
    capsys: pytest.CaptureFixture[str],
) -> None:
    baseline = load_baseline(H100_FILE)
    assert baseline is not None
    code, out, err = run_cli(capsys, "baseline", "show", H100_FILE)
    assert (code, err) == (0, [])
    assert out[0] == f"{H100_FILE}: {len(baseline.entries)} entries, {len(baseline.runs)} runs"
    assert out[1].startswith(f"{len(baseline.entries)} of {len(baseline.entries)} entries rest on one process each: ")
    out = [out[0], *out[2:]]
    assert out[1].split("  ")[0] == "case" and "attention_kernel" in out[1]
    rows = table_rows(out, set(baseline.entries))
    assert set(rows) == set(baseline.entries)
    for case_id, cells in rows.items():
        median = cells[5]
        assert len(median.replace(".", "").lstrip("0")) == 4, cells  # four significant digits
        assert float(median) == pytest.approx(baseline.entries[case_id].timing.median_s, rel=5e-4)
        assert cells[-1] == baseline.entries[case_id].run
    runs = table_rows(out[out.index("runs:") :], set(baseline.runs))
    assert set(runs) == set(baseline.runs)
    assert all(cells[2] == "2.11.0+cu130" for cells in runs.values())
    assert out[-1].startswith("device: name=NVIDIA H100 80GB HBM3, slug=nvidia-h100-80gb-hbm3")


def test_show_and_diff_start_without_torch() -> None:
    # The baseline tools must run where torch is absent; the registries are imported by prune and backends only.
    code = (
        "import sys; from perf.cli.main import main; "
        f"main(['baseline', 'show', {str(H100_FILE)!r}]); main(['baseline', 'diff', {str(H100_FILE)!r}, "
        f"{str(H100_FILE)!r}]); assert 'torch' not in sys.modules, 'torch imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


# ---------------------------------------------------------------- diff

case_entries = st.builds(
    entry,
    workload=st.sampled_from(["attention", "vggt-model", "a-b"]),
    backend=st.sampled_from(["sdpa-math", "fa3", "b-c"]),  # "a-b"+"c" and "a"+"b-c" spell one id
    frames=st.integers(1, 4),
    median_s=st.floats(1e-6, 1e3, allow_nan=False, allow_infinity=False),
    run=st.sampled_from(["r1", "r2"]),
    resolution=st.sampled_from([README, Resolution(518, 518)]),
    memory=st.none() | st.builds(Memory, st.integers(0, 2**40), st.integers(0, 2**40)),
)
files = st.lists(case_entries, max_size=8).map(lambda entries: baseline_of(*entries))


@given(files)
@settings(max_examples=80, deadline=None)
def test_a_file_diffed_with_itself_has_ratio_one_everywhere_and_no_one_sided_case(baseline: Baseline) -> None:
    rows = diff_rows(baseline, baseline)
    assert {row.case_id for row in rows} == set(baseline.entries)
    assert all(row.side is Side.BOTH and row.ratio == 1.0 for row in rows)
    lines = render_diff(baseline, baseline, "x.json", "x.json")
    table = table_rows(lines, set(baseline.entries))
    assert len(table) == len(rows)
    assert all(cells[3] == "1.000" and len(cells) == 6 for cells in table.values())


@given(files, files)
@settings(max_examples=80, deadline=None)
def test_diff_is_symmetric_in_its_case_set(a: Baseline, b: Baseline) -> None:
    forward = {row.case_id: row.side for row in diff_rows(a, b)}
    backward = {row.case_id: row.side for row in diff_rows(b, a)}
    assert set(forward) == set(backward) == set(a.entries) | set(b.entries)
    swapped = {Side.BOTH: Side.BOTH, Side.ONLY_A: Side.ONLY_B, Side.ONLY_B: Side.ONLY_A}
    assert backward == {case_id: swapped[side] for case_id, side in forward.items()}
    assert len(diff_rows(a, b)) == len(forward)  # one row per case id


def test_diff_rows_mark_one_sided_cases_and_divide_b_by_a() -> None:
    shared_a, shared_b = entry(median_s=0.5), entry(median_s=0.4)
    only_a, only_b = entry(backend="fa3"), entry(backend="flex")
    rows = {row.case_id: row for row in diff_rows(baseline_of(shared_a, only_a), baseline_of(shared_b, only_b))}
    assert rows[shared_a.key.case_id] == DiffRow(shared_a.key.case_id, shared_a, shared_b)
    assert rows[shared_a.key.case_id].ratio == pytest.approx(0.8)
    assert (rows[only_a.key.case_id].side, rows[only_a.key.case_id].ratio) == (Side.ONLY_A, None)
    assert (rows[only_b.key.case_id].side, rows[only_b.key.case_id].ratio) == (Side.ONLY_B, None)


def test_environment_differences_name_only_the_fields_that_differ() -> None:
    a = RunInfo("t", "c", {"torch": "2.11", "driver": "580", "cuda": "13.0"})
    b = RunInfo("t", "c", {"torch": "2.11", "driver": "590", "vggt": "abc"})
    assert unequal_environment_fields(a, b) == [("cuda", "13.0", "-"), ("driver", "580", "590"), ("vggt", "-", "abc")]
    assert unequal_environment_fields(a, a) == []


def test_newest_run_is_the_latest_measured_at_whatever_its_id() -> None:
    runs = {"z-old": RunInfo("2026-01-01T00:00:00", "c", {}), "a-new": RunInfo("2026-12-01T00:00:00", "c", {})}
    assert newest_run(Baseline(DEVICE, runs)) == ("a-new", runs["a-new"])
    assert newest_run(Baseline(DEVICE)) is None


def test_diff_of_a_file_and_its_scaled_copy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    h100 = load_baseline(H100_FILE)
    assert h100 is not None
    dropped, *kept = sorted(h100.entries)
    faster = {
        c: replace(e, timing=replace(e.timing, median_s=0.8 * e.timing.median_s)) for c, e in h100.entries.items()
    }
    del faster[dropped]
    added = entry(backend="fa3", frames=3, run=next(iter(h100.runs)))  # a case no profile measures
    runs = {k: replace(r, environment={**r.environment, "driver": "590.1"}) for k, r in h100.runs.items()}
    scaled = Baseline(h100.device, runs, {**faster, added.key.case_id: added})
    write_atomically(tmp_path / "b.json", scaled)
    code, out, err = run_cli(capsys, "baseline", "diff", H100_FILE, tmp_path / "b.json")
    assert (code, err) == (0, [])
    rows = table_rows(out, set(h100.entries) | {added.key.case_id})
    assert [c for c in kept if rows[c][3] != "0.800"] == []
    assert rows[dropped][-1] == "only in A" and rows[added.key.case_id][-1] == "only in B"
    assert f"{len(rows)} cases: {len(kept)} in both, 1 only in A, 1 only in B" in out
    assert out[-1].split() == ["driver", "580.159.04", "590.1"]


# ---------------------------------------------------------------- prune


def test_entries_to_prune_are_those_of_unknown_workload_or_backend_only() -> None:
    kept = [entry(), entry(frames=3, resolution=Resolution(126, 182))]  # outside every profile: --frames makes it
    gone_backend, gone_workload = entry(backend="xformers"), entry(workload="vggt-track", backend="sdpa-math")
    gone_both = entry(workload="vggt-track", backend="xformers")
    removals = entries_to_prune(
        baseline_of(*kept, gone_backend, gone_workload, gone_both), {"attention", "vggt-model"}, {"sdpa-math"}
    )
    assert set(removals) == {
        Removal(gone_backend.key.case_id, "unknown backend 'xformers'"),
        Removal(gone_workload.key.case_id, "unknown workload 'vggt-track'"),
        Removal(gone_both.key.case_id, "unknown workload 'vggt-track', unknown backend 'xformers'"),
    }


def test_remove_entries_drops_the_entries_and_their_orphaned_runs(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    keep, orphan, shared = entry(run="r1"), entry(backend="fa3", run="r2"), entry(backend="flex", run="r1")
    write_atomically(path, baseline_of(keep, orphan, shared))
    pruned = remove_entries(path, [orphan.key.case_id, shared.key.case_id, "not-there"])
    assert load_baseline(path) == pruned
    assert (set(pruned.entries), set(pruned.runs)) == ({keep.key.case_id}, {"r1"})


def test_remove_entries_writes_nothing_when_no_id_is_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    write_atomically(path, baseline_of(entry()))
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))  # any rewrite would undo this
    before = path.read_bytes()
    assert remove_entries(path, ["not-there"]) == load_baseline(path)
    assert path.read_bytes() == before


@pytest.fixture
def file_to_prune(tmp_path: Path) -> tuple[Path, BaselineEntry, Baseline]:
    """The committed H100 file plus one entry of an unregistered backend (in a run of its own) and one of a
    registered case outside the full profile's frames and resolutions."""
    h100 = load_baseline(H100_FILE)
    assert h100 is not None
    stale = entry(backend="xformers", run="stale-run")
    odd_size = entry(frames=3, resolution=Resolution(126, 182), run=next(iter(h100.runs)))
    runs = {**h100.runs, "stale-run": RunInfo("2025-01-01T00:00:00", "pytest", {})}
    baseline = Baseline(h100.device, runs, {**h100.entries, stale.key.case_id: stale, odd_size.key.case_id: odd_size})
    path = tmp_path / "copy.json"
    write_atomically(path, baseline)
    return path, stale, baseline


def test_prune_dry_run_lists_the_stale_entry_and_changes_nothing(
    file_to_prune: tuple[Path, BaselineEntry, Baseline], capsys: pytest.CaptureFixture[str]
) -> None:
    path, stale, _ = file_to_prune
    before = path.read_bytes()
    code, out, err = run_cli(capsys, "baseline", "prune", path, "--dry-run")
    assert (code, err) == (0, [])
    assert table_rows(out, {stale.key.case_id}) == {
        stale.key.case_id: [stale.key.case_id, "unknown backend 'xformers'"]
    }
    assert len(out) == 3 and out[-1].startswith("dry run: 1 of ")
    assert path.read_bytes() == before


def test_prune_removes_the_unregistered_backend_and_keeps_every_other_entry(
    file_to_prune: tuple[Path, BaselineEntry, Baseline], capsys: pytest.CaptureFixture[str]
) -> None:
    path, stale, baseline = file_to_prune
    code, out, err = run_cli(capsys, "baseline", "prune", path)
    assert (code, err) == (0, [])
    assert stale.key.case_id in out[1] and out[-1].startswith(f"removed 1 entries from {path}")
    after = load_baseline(path)
    assert after is not None
    assert dict(after.entries) == {c: e for c, e in baseline.entries.items() if c != stale.key.case_id}
    assert set(after.runs) == set(baseline.runs) - {"stale-run"}
    nothing_left = f"{path}: every entry's workload and backend is registered; nothing to remove"
    assert run_cli(capsys, "baseline", "prune", path)[1] == [nothing_left]


# ---------------------------------------------------------------- retolerate

LAUNCH_BOUND = replace(entry("vggt-aggregator", "sdpa-default", 1, median_s=0.06, run="r1"), time_tolerance=0.5)
GPU_BOUND = replace(
    entry("vggt-aggregator", "sdpa-default", 20, median_s=0.3, run="r2"),
    timing=Timing(0.3, 0.001, 0.3, 0.31, 9, samples_s=tuple(0.3 + i / 10000 for i in range(9))),
)
UNREGISTERED = replace(entry("old-workload", "sdpa-default", 1, median_s=0.06, run="r3"), time_tolerance=0.5)
SHORT_KERNELS = replace(
    entry("attention", "sdpa-cudnn", 20, run="r2"), timing=Timing(0.0035, 1e-5, 0.0035, 0.0036, 5), time_tolerance=0.03
)
REGIMES = {"vggt-aggregator": VGGT_REGIMES, "attention": ATTENTION_REGIMES}


def test_retolerated_applies_the_current_policy_to_registered_workloads_only() -> None:
    before = baseline_of(LAUNCH_BOUND, GPU_BOUND, UNREGISTERED, SHORT_KERNELS)
    after = retolerated(before, REGIMES, 0.03)
    tolerances = {case_id: e.time_tolerance for case_id, e in after.entries.items()}
    assert tolerances == {
        LAUNCH_BOUND.key.case_id: 1.0,  # below 0.1 s: launch-bound
        GPU_BOUND.key.case_id: 0.03,  # nine tight rounds: the floor
        SHORT_KERNELS.key.case_id: 0.1,  # attention's own regime: short kernels below 20 ms
        UNREGISTERED.key.case_id: 0.5,  # no workload to say its regime: kept
    }
    assert after.runs == before.runs and after.device == before.device
    for case_id, e in after.entries.items():
        assert replace(e, time_tolerance=0.0) == replace(before.entries[case_id], time_tolerance=0.0)


REGIMES_ALL = {"attention": ATTENTION_REGIMES, "vggt-aggregator": VGGT_REGIMES, "vggt-model": VGGT_REGIMES}
rounds = st.lists(st.floats(1e-3, 10.0), min_size=1, max_size=30)
tolerated_entries = st.builds(
    lambda workload, frames, samples, tolerance: replace(
        entry(workload, "sdpa-default", frames), timing=summarize_rounds(samples), time_tolerance=tolerance
    ),
    workload=st.sampled_from([*REGIMES_ALL, "old-workload"]),
    frames=st.integers(1, 30),
    samples=rounds,
    tolerance=st.floats(0.0, 10.0),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(tolerated_entries, max_size=6).map(lambda entries: baseline_of(*entries)), st.floats(0.0, 1.0))
def test_retolerated_is_the_update_rule_on_each_entrys_rounds_and_idempotent(baseline: Baseline, least: float) -> None:
    once = retolerated(baseline, REGIMES_ALL, least)
    for case_id, before in baseline.entries.items():
        after = once.entries[case_id]
        if before.key.workload in REGIMES_ALL:
            assert after.time_tolerance == time_tolerance_for(before.timing, REGIMES_ALL[before.key.workload], least)
        else:
            assert after.time_tolerance == before.time_tolerance
    assert retolerated(once, REGIMES_ALL, least) == once


def test_rewrite_writes_nothing_when_the_change_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    write_atomically(path, baseline_of(LAUNCH_BOUND))
    before = path.stat()
    assert rewrite(path, lambda current: current) == load_baseline(path)
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_retolerate_names_entries_of_unregistered_workloads_it_leaves_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "b.json"
    write_atomically(path, baseline_of(UNREGISTERED))
    assert run_cli(capsys, "baseline", "retolerate", path)[1] == [
        f"{path}: every entry's time tolerance already follows the current policy; file unchanged",
        "1 entries of unregistered workloads keep theirs (see prune)",
    ]


def test_retolerate_dry_run_lists_changes_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "b.json"
    write_atomically(path, baseline_of(LAUNCH_BOUND, GPU_BOUND))
    before = path.read_bytes()
    code, out, _ = run_cli(capsys, "baseline", "retolerate", "--dry-run", path)
    assert code == 0
    assert out[0] == f"{LAUNCH_BOUND.key.case_id}: time tolerance +50% -> +100%"
    assert out[-1] == "dry run: 2 of 2 tolerances would change; file unchanged"
    assert path.read_bytes() == before


def test_retolerate_writes_the_new_tolerances_and_a_second_run_finds_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "b.json"
    write_atomically(path, baseline_of(LAUNCH_BOUND, GPU_BOUND))
    code, out, _ = run_cli(capsys, "baseline", "retolerate", path)
    assert (code, out[-1]) == (0, f"recomputed 2 of 2 time tolerances in {path}")
    written = load_baseline(path)
    assert written is not None
    assert [e.time_tolerance for e in written.entries.values()] == [1.0, 0.03]
    unchanged = f"{path}: every entry's time tolerance already follows the current policy; file unchanged"
    assert run_cli(capsys, "baseline", "retolerate", path)[1] == [unchanged]


def test_the_committed_h100_file_follows_the_current_policy(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "baseline", "retolerate", "--dry-run", H100_FILE)[1] == [
        f"{H100_FILE}: every entry's time tolerance already follows the current policy; file unchanged"
    ]


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("action", [["show"], ["diff", H100_FILE], ["prune"], ["prune", "--dry-run"], ["retolerate"]])
def test_a_malformed_file_is_one_line_naming_it_and_exit_2_with_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], action: list[str | Path]
) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"schema_version": 1, "device": {}, "runs": {}, "entries": {"x": {}}}')
    before = path.read_bytes()
    code, out, err = run_cli(capsys, "baseline", *action, path)
    assert (code, out) == (2, [])
    assert len(err) == 1 and err[0].startswith(f"{path}: entries.x"), err
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]


@pytest.mark.parametrize("action", ["show", "prune", "retolerate"])
def test_a_missing_file_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], action: str) -> None:
    code, out, err = run_cli(capsys, "baseline", action, tmp_path / "absent.json")
    assert (code, out, err) == (2, [], [f"{tmp_path / 'absent.json'}: no such baseline file; check the path"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "argv", [["baseline"], ["baseline", "show"], ["baseline", "diff", "a.json"], ["baseline", "prune", "--force", "x"]]
)
def test_wrong_arguments_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    captured = capsys.readouterr()
    assert exit_.value.code == 2
    assert (captured.out, len(captured.err.splitlines())) == ("", 1), captured.err
    assert "error:" in captured.err
