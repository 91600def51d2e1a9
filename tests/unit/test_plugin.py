"""The real plugin end to end, in-process on the CPU: the attention workload at 28x28, one frame, a few rounds."""

from __future__ import annotations

import datetime
import gc
import json
import re
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import scipy.stats  # noqa: F401  imported here: pytester unloads what a run imports, and numpy refuses a reload
import torch

import perf.pytest_plugin.state
import perf.pytest_plugin.update
from perf.core.baselines import Baseline, BaselineEntry, RunInfo
from perf.core.results import CaseKey, Resolution, Timing
from perf.hardware.fingerprint import describe_device, fingerprint, vggt_revision
from perf.pytest_plugin.summary import ENVIRONMENT_CHANGED
from perf.storage.baseline_codec import to_json
from perf.storage.baseline_file import load_baseline
from perf.storage.benchmark_json import SOURCE, read_benchmark_json

pytest_plugins = ["pytester"]

BENCHMARK_TEST = (Path(__file__).parents[1] / "benchmarks" / "test_inference.py").read_text(encoding="utf-8")
MATH = "attention-sdpa-math-1f-28x28"
DEFAULT = "attention-sdpa-default-1f-28x28"
# Tiny, quick cases; --time-tolerance 9 records a +900 % tolerance, so timing noise never flips a verdict
# and only the hand-made x100 changes below do.
CASES = [
    "--profile", "smoke", "--workloads", "attention", "--frames", "1", "--resolution", "28x28",
    "--max-time", "0.02", "--warmup-time", "0", "--min-rounds", "3", "--time-tolerance", "9",
]  # fmt: skip
BOTH = ["--backends", "sdpa-math,sdpa-default"]
TABLE_HEADER = ("verdict", "case", "time s", "baseline s", "ratio", "tol", "peak GiB", "baseline GiB")
VERDICT_ROW = re.compile(r"^(WRONG|REGRESSION|MISSING|OOM|SKIPPED|IMPROVED|NEW|PASS)\s+(\S+)\s+(.*)$")


@pytest.fixture
def suite(pytester: pytest.Pytester) -> Iterator[pytest.Pytester]:
    pytester.makeconftest('pytest_plugins = ["perf.pytest_plugin.plugin"]')
    pytester.makepyfile(test_suite_copy=BENCHMARK_TEST)  # a name of its own: test_inference is imported already
    # The runs share this process's torch. One intra-op thread: on a busy 2-core host two threads wait on each
    # other for whole scheduler slices and a 50 us forward takes milliseconds.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    # The plugin runs gc.collect() around every case; frozen, this process's objects make that cheap.
    gc.collect()
    gc.freeze()
    try:
        yield pytester
    finally:
        gc.unfreeze()
        torch.set_num_threads(threads)


def run(suite: pytest.Pytester, baseline: Path, *args: str) -> pytest.RunResult:
    # Without hypothesis's plugin: each run would import hypothesis afresh (pytester unloads what a run imported).
    return suite.runpytest_inprocess("-p", "no:hypothesispytest", *CASES, "--baseline-file", str(baseline), *args)


def verdicts(result: pytest.RunResult) -> dict[str, tuple[str, str]]:
    """The rows of the end-of-session table: case -> (verdict, rest of the row)."""
    lines = result.outlines
    titles = [i for i, line in enumerate(lines) if re.fullmatch(r"=+ vggt-perf verdicts =+", line)]
    assert len(titles) == 1, "the vggt-perf verdicts section is printed once"
    body = [line for line in lines[titles[0] + 1 :] if line.strip()]
    assert re.split(r"\s{2,}", body[0].strip()) == list(TABLE_HEADER)
    rows = {}
    for line in body[1:]:
        if line.startswith("vggt-perf: "):
            break
        match = VERDICT_ROW.match(line)
        assert match, f"not a verdict row: {line!r}"
        rows[match.group(2)] = (match.group(1), match.group(3))
    return rows


def least_tolerance(cells: str) -> int:
    """The tol cell of a verdict row's number cells, in percent."""
    return int(re.findall(r"\+(\d+)%", cells)[0])


def summary(result: pytest.RunResult, baseline: Path) -> str:
    """The counts line under the table."""
    return next(line for line in result.outlines if line.startswith("vggt-perf: ") and line.endswith(f"({baseline})"))


def no_traceback(result: pytest.RunResult) -> None:
    text = "\n".join(result.outlines + result.errlines)
    assert "Traceback" not in text
    assert not [line for line in result.outlines if line.startswith("E ")]
    assert "perf/plugin.py" not in text


def measured_baseline(suite: pytest.Pytester, *args: str) -> tuple[Path, dict[str, Any]]:
    path = suite.path / "baselines" / "cpu.json"
    result = run(suite, path, "--update-baselines", *BOTH, *args)
    assert result.ret == pytest.ExitCode.OK, result.outlines
    return path, json.loads(path.read_text())


def synthetic_baseline(path: Path, medians: dict[str, float], slug: str | None = None) -> bytes:
    """A valid baseline of attention entries at the given medians, for this machine unless slug says otherwise."""
    entries = {}
    for case_id, median in medians.items():
        workload, rest = case_id.split("-sdpa-")
        backend, frames, _ = rest.split("-")
        key = CaseKey(workload, f"sdpa-{backend}", int(frames.removesuffix("f")), Resolution(28, 28))
        assert key.case_id == case_id
        entries[case_id] = BaselineEntry(key, "fp32", Timing(median, 0.0, median, median, 5), None, 0.5, 0.02, "r1")
    slug = slug or describe_device(torch.device("cpu"))["slug"]
    baseline = Baseline({"name": "cpu", "slug": slug}, {"r1": RunInfo("then", "pytest", {})}, entries)
    path.write_text(json.dumps(to_json(baseline), indent=2) + "\n")
    return path.read_bytes()


def test_first_update_writes_the_measured_entries_and_a_second_run_passes(suite: pytest.Pytester) -> None:
    path = suite.path / "baselines" / "cpu.json"
    first = run(suite, path, "--update-baselines", *BOTH)
    assert first.ret == pytest.ExitCode.OK
    first.assert_outcomes(passed=2)
    assert {case: kind for case, (kind, _) in verdicts(first).items()} == {MATH: "NEW", DEFAULT: "NEW"}
    assert f"vggt-perf: wrote 2 entries to {path}" in first.outlines
    assert any(line.startswith("vggt-perf: these entries are of one process each") for line in first.outlines)

    written = load_baseline(path)
    assert written is not None
    assert set(written.entries) == {MATH, DEFAULT}
    assert written.device["slug"].startswith("cpu-")
    for case_id, entry in written.entries.items():
        assert entry.key == CaseKey("attention", case_id.split("-", 1)[1].rsplit("-", 2)[0], 1, Resolution(28, 28))
        assert entry.dtype == "fp32"
        assert entry.timing.rounds >= 3
        assert 0 < entry.timing.min_s <= entry.timing.median_s <= entry.timing.max_s
        assert entry.memory is None  # no GPU memory on a CPU
        assert entry.time_tolerance >= 9
        assert "--update-baselines" in written.runs[entry.run].command
    assert written.runs[written.entries[MATH].run].environment["torch"]
    before = path.read_bytes()

    second = run(suite, path, *BOTH)
    assert second.ret == pytest.ExitCode.OK
    second.assert_outcomes(passed=2)
    rows = verdicts(second)
    assert {case: kind for case, (kind, _) in rows.items()} == {MATH: "PASS", DEFAULT: "PASS"}
    assert least_tolerance(rows[MATH][1]) >= 900  # --time-tolerance 9; a noisy run's rounds widen it
    assert summary(second, path) == f"vggt-perf: 2 pass ({path})"
    assert path.read_bytes() == before  # comparing never writes
    assert not any(line.startswith("vggt-perf: wrote") for line in second.outlines)


def test_benchmark_json_carries_the_fingerprint_so_a_converted_run_records_the_environment(
    suite: pytest.Pytester,
) -> None:
    path, written = suite.path / "baselines" / "cpu.json", suite.path / "bench.json"
    result = run(suite, path, *BOTH, "--benchmark-json", str(written))
    assert result.ret == pytest.ExitCode.OK
    converted = read_benchmark_json(written)
    assert converted.environment["torch"] == torch.__version__  # the suite's field, not one pytest-benchmark knows
    assert converted.environment["source"] == SOURCE
    assert converted.gpu_name == describe_device(torch.device("cpu"))["name"]


def test_a_much_faster_baseline_fails_the_case_with_one_regression_line(suite: pytest.Pytester) -> None:
    path, document = measured_baseline(suite)
    baseline_median = document["entries"][MATH]["median_s"] / 100
    document["entries"][MATH]["median_s"] = baseline_median
    path.write_text(json.dumps(document, indent=2))

    result = run(suite, path, *BOTH)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, failed=1)
    reported = [line for line in result.outlines if re.match(r"REGRESSION \S", line)]
    assert len(reported) == 1, result.outlines
    number = r"(\d[\d.e+-]*)"
    match = re.fullmatch(
        rf"REGRESSION {MATH}: time {number} s vs baseline {number} s \(x{number}, tolerance \+(\d+)%\)", reported[0]
    )
    assert match, reported[0]
    measured, baseline, ratio = map(float, match.groups()[:3])
    assert int(match.group(4)) == round(document["entries"][MATH]["time_tolerance"] * 100)
    assert measured == pytest.approx(document["entries"][MATH]["median_s"] * 100, rel=9)
    assert baseline == pytest.approx(baseline_median, rel=1e-3, abs=5e-5)  # as precisely as it is printed
    assert 10 < ratio < 10_000  # x100 slower, give or take timing noise; beyond the +900 % tolerance
    assert re.search(rf"^FAILED \S+::test_inference\[{MATH}\]", "\n".join(result.outlines), re.MULTILINE)
    no_traceback(result)
    rows = verdicts(result)
    assert rows[MATH][0] == "REGRESSION"
    assert rows[DEFAULT][0] == "PASS"
    assert summary(result, path) == f"vggt-perf: 1 pass, 1 regression ({path})"


def test_the_github_summary_is_appended_as_markdown_and_the_regression_annotated(suite: pytest.Pytester) -> None:
    path, document = measured_baseline(suite)
    document["entries"][MATH]["median_s"] /= 100
    path.write_text(json.dumps(document, indent=2))
    summary_file = suite.path / "summary.md"
    summary_file.write_text("earlier step\n")

    result = run(suite, path, *BOTH, "--github-summary", str(summary_file))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    written = summary_file.read_text().splitlines()
    assert written[:3] == [
        "earlier step",
        f"### vggt-perf on {describe_device(torch.device('cpu'))['name']} against {path.name}",
        "",
    ]
    assert written[3] == "1 pass, 1 regression"
    assert [line.split(" | ")[:2] for line in written[7:]] == [
        ["| REGRESSION", f"`{MATH}`"],
        ["| PASS", f"`{DEFAULT}`"],
    ]
    annotations = [line for line in result.outlines if line.startswith("::error ")]
    assert len(annotations) == 1 and annotations[0].startswith(
        f"::error title=vggt-perf REGRESSION {MATH}::{MATH}: time "
    )


def test_regression_line_numbers_keep_their_significant_digits(suite: pytest.Pytester) -> None:
    path, document = measured_baseline(suite, "-k", "sdpa-math")
    document["entries"][MATH]["median_s"] /= 100
    path.write_text(json.dumps(document))
    result = run(suite, path, "--backends", "sdpa-math")
    (line,) = [line for line in result.outlines if re.match(r"REGRESSION \S", line)]
    measured, baseline, ratio = map(float, re.findall(r"time (\S+) s vs baseline (\S+) s \(x(\S+),", line)[0])
    assert baseline == pytest.approx(document["entries"][MATH]["median_s"], rel=1e-3)
    assert measured / baseline == pytest.approx(ratio, rel=1e-2)


def test_a_much_slower_baseline_is_an_improvement_and_passes(suite: pytest.Pytester) -> None:
    path, document = measured_baseline(suite)
    document["entries"][MATH]["median_s"] *= 100
    path.write_text(json.dumps(document, indent=2))
    result = run(suite, path, *BOTH)
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=2)
    rows = verdicts(result)
    assert rows[MATH][0] == "IMPROVED"
    assert re.search(r"x0\.0\d\d", rows[MATH][1])  # about x0.010; improved means below x0.1 at +900 %
    assert rows[DEFAULT][0] == "PASS"
    assert not [line for line in result.outlines if line.startswith("REGRESSION")]
    assert summary(result, path) == f"vggt-perf: 1 improved, 1 pass ({path})"


def test_an_update_of_a_subset_keeps_the_other_entries(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    # Both updates within one second, as quick CI re-runs are: the plugin's run id is measured_at, to the second.
    frozen = datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    clock = types.SimpleNamespace(
        datetime=types.SimpleNamespace(now=lambda tz=None: frozen), timezone=datetime.timezone
    )
    monkeypatch.setattr(perf.pytest_plugin.update, "datetime", clock)
    path, before = measured_baseline(suite)
    result = run(suite, path, "--update-baselines", "--backends", "sdpa-math")
    assert result.ret == pytest.ExitCode.OK
    assert f"vggt-perf: wrote 1 entries to {path}" in result.outlines
    after = json.loads(path.read_text())
    assert after["entries"][DEFAULT] == before["entries"][DEFAULT]
    assert after["entries"][MATH] != before["entries"][MATH]  # measured again
    # The kept entry still names the run that measured it, with that run's command, even within one second.
    kept_run = after["runs"][after["entries"][DEFAULT]["run"]]
    assert kept_run == before["runs"][before["entries"][DEFAULT]["run"]]
    assert "sdpa-math,sdpa-default" in kept_run["command"]
    new_run = after["runs"][after["entries"][MATH]["run"]]
    assert new_run["command"].endswith("--backends sdpa-math")
    assert set(after["runs"]) == {entry["run"] for entry in after["entries"].values()}


@pytest.mark.parametrize(
    ("corrupt", "field"),
    [
        (lambda text: text[: len(text) // 2], "not valid JSON at line"),
        (lambda text: text.replace('"frames": 1,', '"frames": "1",', 1), ".frames: expected an integer, got str"),
        (lambda text: text.replace('"schema_version": 1', '"schema_version": 7'), "schema_version: is 7"),
    ],
    ids=["invalid-json", "wrong-field-type", "schema-version"],
)
@pytest.mark.parametrize("update", [False, True], ids=["compare", "update"])
def test_a_corrupted_baseline_is_a_usage_error_naming_the_file(
    suite: pytest.Pytester, corrupt: Any, field: str, update: bool
) -> None:
    path = suite.path / "cpu.json"
    synthetic_baseline(path, {MATH: 1.0, DEFAULT: 1.0})
    path.write_text(corrupt(path.read_text()))
    before = path.read_bytes()
    result = run(suite, path, *BOTH, *(["--update-baselines"] if update else []))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.outlines + result.errlines if line.startswith("ERROR")]
    assert len(errors) == 1, result.errlines
    assert errors[0].startswith(f"ERROR: {path}: ")
    assert field in errors[0]
    naming = [line for line in result.outlines + result.errlines if str(path) in line]
    assert [line for line in naming if not line.startswith("vggt-perf: ")] == errors  # besides the header
    no_traceback(result)
    result.assert_outcomes()  # no case ran
    assert path.read_bytes() == before
    assert sorted(p.name for p in suite.path.iterdir() if p.name.startswith((".cpu.json", "cpu.json"))) in (
        ["cpu.json"],
        ["cpu.json", "cpu.json.lock"],
    )


CRASHES_BEFORE_MEASURING_DEFAULT = """
from perf.benchmarks.test_inference import test_inference as measure


def test_inference(perf_case, vggt_perf, benchmark):
    if perf_case.backend == "sdpa-default":
        raise RuntimeError("crashed before measuring")
    measure(perf_case, vggt_perf, benchmark)
"""


def test_missing_lists_unproduced_entries_of_the_selected_matrix_never_deselected_ones(
    suite: pytest.Pytester,
) -> None:
    suite.makepyfile(test_suite_copy=CRASHES_BEFORE_MEASURING_DEFAULT)
    efficient = "attention-sdpa-efficient-1f-28x28"
    path = suite.path / "cpu.json"
    synthetic_baseline(
        path,
        {
            MATH: 1.0,
            DEFAULT: 1.0,  # collected, yet it produced nothing: missing
            efficient: 1.0,  # deselected by -k: the user's choice, not missing
            "attention-sdpa-math-2f-28x28": 1.0,  # outside the selected matrix (--frames 1): not expected
            "retired-sdpa-math-1f-28x28": 1.0,  # a workload no registry knows: always expected
        },
    )
    result = run(suite, path, "--backends", "sdpa-math,sdpa-default,sdpa-efficient", "-k", "not sdpa-efficient")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, failed=1, deselected=1)
    rows = verdicts(result)
    assert rows == {
        DEFAULT: ("MISSING", "in the baseline but not produced by this run"),
        "retired-sdpa-math-1f-28x28": ("MISSING", "in the baseline but not produced by this run"),
        MATH: ("IMPROVED", rows[MATH][1]),
    }
    assert list(rows)[:2] == sorted([DEFAULT, "retired-sdpa-math-1f-28x28"])  # missing sorts above improved
    assert summary(result, path) == f"vggt-perf: 1 improved, 2 missing ({path})"


@pytest.mark.parametrize("require", [False, True], ids=["optional", "required"])
def test_require_baseline_fails_a_case_without_an_entry(suite: pytest.Pytester, require: bool) -> None:
    path = suite.path / "cpu.json"
    synthetic_baseline(path, {DEFAULT: 1.0})
    result = run(suite, path, *BOTH, *(["--require-baseline"] if require else []))
    rows = verdicts(result)
    assert rows[DEFAULT][0] == "IMPROVED"
    if require:
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        result.assert_outcomes(passed=1, failed=1)
        assert rows[MATH][0] == "REGRESSION"
        assert [line for line in result.outlines if re.match(r"REGRESSION \S", line)] == [
            f"REGRESSION {MATH}: no baseline entry (run with --update-baselines to record one)"
        ]
        no_traceback(result)
    else:
        assert result.ret == pytest.ExitCode.OK
        result.assert_outcomes(passed=2)
        kind, cells = rows[MATH]  # the measured time, the baseline's cells empty (no GPU memory on a CPU)
        assert kind == "NEW" and re.fullmatch(r"\d\.\d+(e-\d+)?", cells), rows[MATH]


def test_substitute_backend_cannot_update_baselines(suite: pytest.Pytester) -> None:
    path = suite.path / "cpu.json"
    result = run(suite, path, *BOTH, "--update-baselines", "--substitute-backend", "sdpa-flash=sdpa-math")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert [line for line in result.errlines if line.startswith("ERROR")] == [
        "ERROR: --substitute-backend measures another kernel: it cannot write baselines"
    ]
    no_traceback(result)
    assert not path.exists()


def test_substitute_backend_measures_the_other_kernel_under_the_cases_name(suite: pytest.Pytester) -> None:
    path = suite.path / "cpu.json"
    synthetic_baseline(path, {"attention-sdpa-flash-1f-28x28": 1e-9})
    report = suite.path / "benchmark.json"
    result = run(
        suite, path, "--backends", "sdpa-flash", "--substitute-backend", "sdpa-flash=sdpa-math",
        f"--benchmark-json={report}",
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert verdicts(result)["attention-sdpa-flash-1f-28x28"][0] == "REGRESSION"
    (benchmark,) = json.loads(report.read_text())["benchmarks"]
    assert benchmark["extra_info"]["backend"] == "sdpa-flash"
    assert benchmark["extra_info"]["measured_backend"] == "sdpa-math"


@pytest.mark.parametrize("update", [False, True], ids=["compare", "update"])
def test_another_devices_baseline_is_refused_before_any_case_runs(suite: pytest.Pytester, update: bool) -> None:
    path = suite.path / "cpu.json"
    before = synthetic_baseline(path, {DEFAULT: 1.0}, slug="cpu-made-up")
    result = run(suite, path, *BOTH, *(["--update-baselines"] if update else []))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.outlines + result.errlines if line.startswith("ERROR")]
    assert len(errors) == 1
    assert errors[0].startswith(f"ERROR: {path}: holds baselines of 'cpu-made-up', this run is on 'cpu-")
    no_traceback(result)
    result.assert_outcomes()  # no case ran
    assert path.read_bytes() == before


def test_benchmark_only_deselects_other_tests_instead_of_listing_them_as_skipped(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_plain="def test_not_a_benchmark():\n    assert True\n")
    path = suite.path / "cpu.json"
    result = run(suite, path, *BOTH, "--benchmark-only")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=2, deselected=1)
    everything = run(suite, path, *BOTH)
    everything.assert_outcomes(passed=3)


def baseline_measured_elsewhere(path: Path, **changes: str) -> str:
    """A baseline of both cases whose one run (r1) had this machine's environment but for the changed fields."""
    synthetic_baseline(path, {MATH: 1.0, DEFAULT: 1.0})
    document = json.loads(path.read_text())
    environment = fingerprint(torch.device("cpu"), vggt_revision())
    document["runs"]["r1"]["environment"] = {**environment, **changes}
    path.write_text(json.dumps(document))
    return environment["torch"]


def environment_lines(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if line.startswith("vggt-perf: environment differs")]


def test_a_baseline_measured_in_another_environment_is_reported_and_the_run_passes(suite: pytest.Pytester) -> None:
    path = suite.path / "cpu.json"
    torch_here = baseline_measured_elsewhere(path, torch="1.0.0")
    result = run(suite, path, *BOTH)
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=2)
    assert environment_lines(result) == [
        f"vggt-perf: environment differs from the baseline run r1 (2 compared entries): torch 1.0.0 -> {torch_here}"
    ]
    assert ENVIRONMENT_CHANGED in result.outlines  # said plainly: the environment changed, not the code
    assert [line for line in result.outlines if re.fullmatch(r"=+ vggt-perf environment =+", line)]
    assert set(verdicts(result)) == {MATH, DEFAULT}


def test_strict_env_passes_where_the_environment_is_the_baselines(suite: pytest.Pytester) -> None:
    path = suite.path / "cpu.json"
    baseline_measured_elsewhere(path, **{"pytest-benchmark": "0.1"})  # the harness's version is not compared
    result = run(suite, path, *BOTH, "--strict-env")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=2)
    assert environment_lines(result) == []
    assert ENVIRONMENT_CHANGED not in result.outlines
    assert not [line for line in result.outlines if "vggt-perf environment" in line]


def test_strict_env_stops_before_any_case_runs_naming_the_file_and_field(suite: pytest.Pytester) -> None:
    path = suite.path / "cpu.json"
    torch_here = baseline_measured_elsewhere(path, torch="1.0.0")
    before = path.read_bytes()
    result = run(suite, path, *BOTH, "--strict-env")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.outlines + result.errlines if line.startswith("ERROR")]
    assert len(errors) == 1, result.outlines + result.errlines
    assert errors[0].startswith(
        f"ERROR: {path}: this run's environment differs from baseline run r1 (2 compared entries): "
        f"torch 1.0.0 -> {torch_here} (--strict-env: "
    )
    no_traceback(result)
    result.assert_outcomes()  # no case ran
    assert environment_lines(result) == []  # told once, by the error
    assert path.read_bytes() == before


def test_strict_env_still_updates_reporting_the_difference_and_fingerprints_once(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = suite.path / "cpu.json"
    baseline_measured_elsewhere(path, torch="1.0.0")
    calls = []
    monkeypatch.setattr(perf.pytest_plugin.state, "fingerprint", lambda *args: calls.append(args) or fingerprint(*args))
    result = run(suite, path, *BOTH, "--strict-env", "--update-baselines")
    assert result.ret == pytest.ExitCode.OK
    assert len(environment_lines(result)) == 1
    assert f"vggt-perf: wrote 2 entries to {path}" in result.outlines
    assert len(calls) == 1  # compared after collection and recorded by the update: one fingerprint
    written = load_baseline(path)
    assert written is not None
    assert set(written.runs) == {written.entries[MATH].run}  # r1 wrote no entry any more
    assert written.runs[written.entries[MATH].run].environment == fingerprint(*calls[0])


def test_only_runs_that_wrote_the_selected_cases_entries_are_compared(suite: pytest.Pytester) -> None:
    path = suite.path / "cpu.json"
    baseline_measured_elsewhere(path)
    document = json.loads(path.read_text())
    # The default backend's entry came from a run with another torch; this session deselects that case.
    document["runs"]["r2"] = {**document["runs"]["r1"], "environment": {"torch": "1.0.0"}}
    document["entries"][DEFAULT]["run"] = "r2"
    path.write_text(json.dumps(document))
    deselected = run(suite, path, *BOTH, "--strict-env", "-k", "sdpa-math")
    assert deselected.ret == pytest.ExitCode.OK
    assert environment_lines(deselected) == []
    selected = run(suite, path, *BOTH)
    assert [line.split(":")[1] for line in environment_lines(selected)] == [
        " environment differs from the baseline run r2 (1 compared entry)"
    ]


def test_a_baseline_without_a_device_slug_is_refused_before_any_case_runs(suite: pytest.Pytester) -> None:
    path = suite.path / "cpu.json"
    synthetic_baseline(path, {DEFAULT: 1.0})
    document = json.loads(path.read_text())
    del document["device"]["slug"]
    path.write_text(json.dumps(document))
    result = run(suite, path, *BOTH)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.outlines + result.errlines if line.startswith("ERROR")]
    assert len(errors) == 1 and errors[0].startswith(f"ERROR: {path}: holds baselines of '', this run is on 'cpu-")
    result.assert_outcomes()


def test_an_update_says_which_tolerances_it_re_derived(suite: pytest.Pytester) -> None:
    path, document = measured_baseline(suite)
    document["entries"][MATH]["time_tolerance"] = 9.5  # widened by hand
    path.write_text(json.dumps(document))
    result = run(suite, path, *BOTH, "--update-baselines")
    assert result.ret == pytest.ExitCode.OK
    notes = [line for line in result.outlines if line.startswith(f"vggt-perf: {MATH}: time_tolerance +950% -> ")]
    assert len(notes) == 1 and notes[0].endswith("(re-derived from this run)")
    # The untouched entry is listed only where this run's rounds re-derived another tolerance (a noisy run widens it).
    after = json.loads(path.read_text())["entries"][DEFAULT]["time_tolerance"]
    listed = [line for line in result.outlines if line.startswith(f"vggt-perf: {DEFAULT}: time_tolerance")]
    assert bool(listed) == (after != document["entries"][DEFAULT]["time_tolerance"])


# ---------------------------------------------------------------- --confirm-from: a fresh process confirms


def _slowed_first_run(suite: pytest.Pytester, path: Path, factor: float | None) -> Path:
    """A first gate run's JSON; with a factor, its MATH case ran exactly `factor` times the baseline's median."""
    first = suite.path / "first.json"
    assert run(suite, path, *BOTH, "--benchmark-json", str(first)).ret in (pytest.ExitCode.OK, 1)
    if factor is None:
        return first
    baseline_median = json.loads(path.read_text())["entries"][MATH]["median_s"]
    document = json.loads(first.read_text())
    for benchmark in document["benchmarks"]:
        if benchmark["name"].endswith(f"[{MATH}]"):
            stats = benchmark["stats"]
            scale = factor * baseline_median / stats["median"]
            stats["data"] = [sample * scale for sample in stats["data"]]
            for name in ("min", "max", "mean", "median", "q1", "q3", "iqr", "stddev", "total"):
                stats[name] *= scale
    first.write_text(json.dumps(document))
    return first


def test_a_regression_seen_again_in_the_confirmation_run_fails_it_and_only_that_case_is_re_measured(
    suite: pytest.Pytester,
) -> None:
    path, document = measured_baseline(suite)
    document["entries"][MATH]["median_s"] /= 100
    document["entries"][MATH]["samples_s"] = [s / 100 for s in document["entries"][MATH]["samples_s"]]
    path.write_text(json.dumps(document, indent=2))
    first = _slowed_first_run(suite, path, None)  # measured against the fast baseline: x100

    result = run(suite, path, *BOTH, "--confirm-from", str(first))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1, deselected=1)
    reported = [line for line in result.outlines if line.startswith(f"REGRESSION {MATH}: ")]
    assert len(reported) == 1 and "; confirmed on re-run: x" in reported[0], result.outlines
    assert f"vggt-perf: confirmation of {first}: 1 time regressions re-measured, 1 confirmed; " in "\n".join(
        result.outlines
    )
    no_traceback(result)


def test_a_first_run_slowdown_the_re_run_does_not_repeat_passes_saying_not_confirmed(suite: pytest.Pytester) -> None:
    path, document = measured_baseline(suite)
    document["entries"][MATH]["time_tolerance"] = 99.0  # x100: the re-run may be up to x33 slow and still clear it
    path.write_text(json.dumps(document, indent=2))
    first = _slowed_first_run(suite, path, 300.0)  # x300, beyond x100; the re-run runs as fast as the baseline did

    result = run(suite, path, *BOTH, "--confirm-from", str(first))
    assert result.ret == pytest.ExitCode.OK, result.outlines
    result.assert_outcomes(passed=1, deselected=1)
    rows = verdicts(result)
    assert list(rows) == [MATH] and rows[MATH][0] == "PASS"
    assert any(f"{MATH}: not confirmed: x" in line and "(first run x300.000;" in line for line in result.outlines)


def test_a_confirmation_with_nothing_to_confirm_passes_and_a_standing_failure_fails_it(suite: pytest.Pytester) -> None:
    path, _ = measured_baseline(suite)
    first = _slowed_first_run(suite, path, None)
    result = run(suite, path, *BOTH, "--confirm-from", str(first))
    assert result.ret == pytest.ExitCode.OK, result.outlines  # not pytest's "no tests ran"
    document = json.loads(first.read_text())
    document["benchmarks"][0]["extra_info"]["outcome"] = "wrong"
    document["benchmarks"][0]["extra_info"]["reason"] = "computes a wrong output"
    first.write_text(json.dumps(document))
    result = run(suite, path, *BOTH, "--confirm-from", str(first))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    rows = verdicts(result)
    assert [kind for kind, _ in rows.values()] == ["WRONG"]
    assert any("(first run; not re-measured: a re-run cannot change it)" in line for line in result.outlines)


def test_confirm_from_cannot_update_baselines_nor_read_a_broken_file(suite: pytest.Pytester) -> None:
    path = suite.path / "baselines" / "cpu.json"
    result = run(suite, path, *BOTH, "--confirm-from", "x.json", "--update-baselines")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    broken = suite.path / "broken.json"
    broken.write_text("{")
    result = run(suite, path, *BOTH, "--confirm-from", str(broken))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert any(line.startswith("ERROR: --confirm-from: ") for line in result.errlines), result.errlines
