"""`python -m perf baseline update --from-json`: the conversion of the committed H100 runs, and the command."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perf.cli.main import main
from perf.core.conversion import BenchmarkJsonError, convert, device_of, update_command
from perf.core.tolerance import DEFAULT_MEMORY_TOLERANCE, DEFAULT_TIME_TOLERANCE, time_tolerance_for
from perf.storage.baseline_file import load_baseline
from perf.storage.benchmark_json import FINGERPRINT_FIELD, SOURCE, read_benchmark_json
from perf.workloads.registry import WORKLOADS

ROOT = Path(__file__).resolve().parents[2]
H100_FILE = ROOT / "baselines" / "nvidia-h100-80gb-hbm3.json"
MEASURED = ROOT / "docs" / "measurements" / "2026-11-26-h100"
G350 = MEASURED / "gate-run" / "g350.json"
DEMO = MEASURED / "gate-run" / "demo.json"
AGG100 = ROOT / "docs" / "measurements" / "2026-11-27-h100-backends" / "agg-100.json"
REGIMES = {name: workload.regimes for name, workload in WORKLOADS.items()}
H100_SLUG = "nvidia-h100-80gb-hbm3"


def case_id(benchmark: dict[str, Any]) -> str:
    extra = benchmark["extra_info"]
    return f"{extra['workload']}-{extra['backend']}-{extra['frames']}f-{extra['height']}x{extra['width']}"


def convert_file(path: Path, time_tolerance: float = DEFAULT_TIME_TOLERANCE) -> Any:
    return convert(read_benchmark_json(path), "cmd", REGIMES, time_tolerance, DEFAULT_MEMORY_TOLERANCE)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, list[str], list[str]]:
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err.splitlines()


def write_json(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.fixture
def h100_copy(tmp_path: Path) -> Path:
    return Path(shutil.copy(H100_FILE, tmp_path / "h100.json"))


# ---------------------------------------------------------------- conversion


def test_g350_converts_to_24_entries_with_the_jsons_medians_rounds_and_samples() -> None:
    benchmarks = {case_id(b): b for b in json.loads(G350.read_text())["benchmarks"]}
    conversion = convert_file(G350)
    assert (len(conversion.entries), conversion.skipped) == (24, ())
    for entry in conversion.entries:
        raw = benchmarks[entry.key.case_id]
        stats, extra = raw["stats"], raw["extra_info"]
        assert entry.timing.median_s == stats["median"]
        assert entry.timing.samples_s == tuple(stats["data"])
        assert (entry.timing.min_s, entry.timing.max_s, entry.timing.rounds) == (
            stats["min"],
            stats["max"],
            stats["rounds"],
        )
        assert entry.memory is not None
        assert (entry.memory.peak_allocated_bytes, entry.memory.peak_reserved_bytes) == (
            extra["peak_memory_bytes"],
            extra["peak_reserved_bytes"],
        )
        assert entry.dtype == extra["dtype"] == "bf16"
        assert entry.time_tolerance == time_tolerance_for(
            entry.timing, REGIMES[entry.key.workload], DEFAULT_TIME_TOLERANCE
        )
        assert entry.memory_tolerance == DEFAULT_MEMORY_TOLERANCE


def test_a_runs_json_reproduces_the_committed_entries_that_run_wrote() -> None:
    # agg-100.json and the H100 file's run 2026-11-27T01:07:27 come from one --update-baselines session: converting
    # the JSON must give what the live run wrote: rounds, quartiles, tolerance, memory, correctness and kernel.
    committed = load_baseline(H100_FILE)
    assert committed is not None
    entries = convert_file(AGG100).entries
    assert len(entries) == 8  # every backend but sdpa-math, out of memory at 100 frames
    # the quick profile's sdpa-default was re-recorded since (docs/measurements/2026-11-27-h100-rerecord)
    from_that_run = [
        entry for entry in entries if committed.entries[entry.key.case_id].run == "2026-11-27T01:07:27+00:00"
    ]
    assert {entry.key.backend for entry in entries} - {entry.key.backend for entry in from_that_run} == {"sdpa-default"}
    for entry in from_that_run:
        written = committed.entries[entry.key.case_id]
        assert entry.timing == written.timing and entry.timing.samples_s
        assert (entry.time_tolerance, entry.memory, entry.dtype, entry.evidence) == (
            written.time_tolerance,
            written.memory,
            written.dtype,
            written.evidence,
        )


def test_the_run_records_the_jsons_time_command_and_environment_marked_as_converted() -> None:
    run = convert(read_benchmark_json(G350), update_command([G350, DEMO]), REGIMES, 0.05, 0.02).run
    assert run.measured_at == "2026-11-26T22:20:21+00:00"  # the JSON's datetime, in whole seconds like a live run
    assert run.command == f"python -m perf baseline update --from-json {G350} --from-json {DEMO}"
    assert run.environment == {
        "python": "3.12.3",
        "host_cpu": "Intel(R) Xeon(R) Processor x16",  # host_cpu's spelling (perf.hardware.fingerprint)
        "host_cpu_count": "16",
        "pytest-benchmark": "5.2.3",
        "source": SOURCE,
    }


FINGERPRINT = {"torch": "2.11.0+cu130", "driver": "580.159.04", "host_cpu": "Intel(R) Xeon(R) Processor x16"}


def test_the_suites_fingerprint_in_machine_info_becomes_the_runs_environment(tmp_path: Path) -> None:
    document = json.loads(G350.read_text())
    document["machine_info"][FINGERPRINT_FIELD] = FINGERPRINT
    file = read_benchmark_json(write_json(tmp_path / "fingerprinted.json", document))
    run = convert(file, update_command([file.path]), REGIMES, 0.05, 0.02).run
    assert run.environment == {
        "python": "3.12.3",
        "host_cpu_count": "16",
        "pytest-benchmark": "5.2.3",
        **FINGERPRINT,
        "source": SOURCE,
    }


@pytest.mark.parametrize(
    ("fingerprint", "field", "problem"),
    [
        (["torch"], FINGERPRINT_FIELD, "expected an object, got list"),
        ({"torch": 2.11}, f"{FINGERPRINT_FIELD}.torch", "expected a string, got float"),
    ],
)
def test_a_malformed_fingerprint_is_one_line_naming_its_field(
    tmp_path: Path, fingerprint: object, field: str, problem: str
) -> None:
    document = json.loads(G350.read_text())
    document["machine_info"][FINGERPRINT_FIELD] = fingerprint
    path = write_json(tmp_path / "bad.json", document)
    with pytest.raises(BenchmarkJsonError) as raised:
        read_benchmark_json(path)
    assert str(raised.value).startswith(f"{path}: machine_info.{field}: {problem}")


def test_a_benchmark_measured_while_suspect_never_becomes_an_entry(tmp_path: Path) -> None:
    document = json.loads(G350.read_text())
    suspect = (
        "GPU clock held down by hardware thermal slowdown: 12.5% below its maximum on average over 40 clock samples"
    )
    document["benchmarks"][0]["extra_info"]["suspect"] = suspect
    document["benchmarks"][1]["extra_info"]["throttle_reasons"] = ["software power cap"]  # limited, not suspect
    file = read_benchmark_json(write_json(tmp_path / "suspect.json", document))
    conversion = convert(file, update_command([file.path]), REGIMES, 0.05, 0.02)
    case_id = file.benchmarks[0].key.case_id
    assert case_id not in {entry.key.case_id for entry in conversion.entries}
    assert [skip.reason for skip in conversion.skipped if skip.case_id == case_id] == [
        f"suspect: {suspect}; rerun it on a GPU that is not throttled"
    ]
    assert len(conversion.entries) == len(file.benchmarks) - 1


def test_a_suspect_line_that_is_not_text_is_one_line_naming_the_field(tmp_path: Path) -> None:
    document = json.loads(G350.read_text())
    document["benchmarks"][0]["extra_info"]["suspect"] = ["throttled"]
    path = write_json(tmp_path / "bad.json", document)
    with pytest.raises(BenchmarkJsonError, match=r"extra_info\.suspect: "):
        read_benchmark_json(path)


def test_the_device_is_the_slug_or_the_gpu_machine_info_names(tmp_path: Path) -> None:
    assert device_of([read_benchmark_json(G350)]) == {"name": H100_SLUG, "slug": H100_SLUG, "total_memory_bytes": ""}
    document = json.loads(G350.read_text())
    document["machine_info"]["gpu"] = {"name": "NVIDIA H100 80GB HBM3"}
    named = read_benchmark_json(write_json(tmp_path / "named.json", document))
    assert device_of([named])["name"] == "NVIDIA H100 80GB HBM3"


def test_evidence_comes_from_extra_info_and_samples_absent_leave_the_stats_summary(tmp_path: Path) -> None:
    document = json.loads(G350.read_text())
    first = document["benchmarks"][0]
    first["extra_info"].update(attention_kernel="cudnn_sdpa_fprop", relative_error=0.003, compile_s=1.5)
    del first["stats"]["data"]
    entry = convert_file(write_json(tmp_path / "b.json", document)).entries[0]
    assert (entry.evidence.attention_kernel, entry.evidence.relative_error, entry.evidence.compile_s) == (
        "cudnn_sdpa_fprop",
        0.003,
        1.5,
    )
    stats = first["stats"]
    assert entry.timing.samples_s == ()
    assert (entry.timing.median_s, entry.timing.iqr_s, entry.timing.rounds) == (
        stats["median"],
        stats["iqr"],
        stats["rounds"],
    )


def test_only_ok_cases_of_their_own_backend_and_a_registered_workload_become_entries(tmp_path: Path) -> None:
    document = json.loads(G350.read_text())
    oom, wrong, unknown, foreign = document["benchmarks"][:4]
    oom["extra_info"].update(outcome="oom", reason="CUDA out of memory at 1 frames 350x518 (79.2 GiB GPU)")
    del oom["stats"]  # an outcome without timed rounds needs no stats
    wrong["extra_info"].update(outcome="wrong")
    unknown["extra_info"].update(workload="vggt-track")
    foreign["extra_info"] = {}
    foreign["name"] = "test_other"
    conversion = convert_file(write_json(tmp_path / "b.json", document))
    assert len(conversion.entries) == 20
    reasons = {skip.case_id: skip.reason for skip in conversion.skipped}
    assert reasons == {
        case_id(oom): "outcome oom: CUDA out of memory at 1 frames 350x518 (79.2 GiB GPU); "
        "only measured cases become baselines",
        case_id(wrong): "outcome wrong; only measured cases become baselines",
        case_id(unknown): "workload 'vggt-track' is not registered: no test measures it any more",
        "test_other": "not a vggt-perf case: no extra_info.workload",
    }


def test_the_tolerance_options_are_read(h100_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run_cli(
        capsys,
        "baseline",
        "update",
        "--from-json",
        G350,
        "--min-runs",
        "1",
        "--time-tolerance",
        "0.3",
        "--memory-tolerance",
        "0.1",
        h100_copy,
    )
    assert code == 0
    written = load_baseline(h100_copy)
    assert written is not None
    ids = {case_id(b) for b in json.loads(G350.read_text())["benchmarks"]}
    updated = [written.entries[i] for i in ids]
    assert {e.memory_tolerance for e in updated} == {0.1}
    assert min(e.time_tolerance for e in updated) == 0.3  # the 20-100 frame cases, held to 5 % by default


# ---------------------------------------------------------------- the command


def test_g350_into_a_copy_of_the_h100_file_replaces_its_cases_and_keeps_every_other_entry(
    h100_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = load_baseline(h100_copy)
    assert before is not None
    code, out, err = run_cli(capsys, "baseline", "update", "--from-json", G350, "--min-runs", "1", h100_copy)
    assert (code, err) == (0, [])
    after = load_baseline(h100_copy)  # what was written validates
    assert after is not None
    ids = {case_id(b) for b in json.loads(G350.read_text())["benchmarks"]}
    assert after.entries.keys() == before.entries.keys()
    assert {i: e for i, e in after.entries.items() if i not in ids} == {
        i: e for i, e in before.entries.items() if i not in ids
    }
    new_run = "2026-11-26T22:20:21+00:00"
    assert {after.entries[i].run for i in ids} == {new_run}
    for i in ids:  # the command's default tolerances are perf.core.stats'
        updated = after.entries[i]
        assert updated.time_tolerance == time_tolerance_for(
            updated.timing, REGIMES[updated.key.workload], DEFAULT_TIME_TOLERANCE
        )
        assert updated.memory_tolerance == DEFAULT_MEMORY_TOLERANCE
    assert after.runs[new_run].environment["source"] == SOURCE
    assert after.device == before.device
    assert out[0] == f"{G350}: run {new_run}, 24 entries, 0 skipped"
    assert sum(line.startswith("  wrote ") for line in out) == 24
    assert (
        out[-1] == f"wrote 24 entries pooled from 1 process to {h100_copy}; "
        f"it holds {len(after.entries)} entries of {len(after.runs)} runs"
    )


def test_the_substituted_demo_run_writes_nothing_and_says_why(
    h100_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = h100_copy.read_bytes()
    code, out, err = run_cli(capsys, "baseline", "update", "--from-json", DEMO, h100_copy)
    assert (code, err) == (0, [])
    assert out[1:] == [
        "  skipped vggt-aggregator-sdpa-flash-20f-350x518: measured sdpa-math under the name sdpa-flash "
        "(--substitute-backend): a substituted measurement never becomes a baseline",
        f"nothing written to {h100_copy}: no benchmark qualifies (see why above); file unchanged",
    ]
    assert h100_copy.read_bytes() == before


def test_a_cpu_json_into_the_h100_file_is_refused_and_the_file_is_untouched(
    h100_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(G350.read_text())
    for benchmark in document["benchmarks"]:
        benchmark["extra_info"]["device"] = "cpu-intel-r-xeon-r-processor"
    cpu_json = write_json(tmp_path / "cpu.json", document)
    before = h100_copy.read_bytes()
    code, out, err = run_cli(capsys, "baseline", "update", "--from-json", cpu_json, h100_copy)
    assert (code, out, len(err)) == (2, [], 1)
    assert err[0].startswith(f"{h100_copy}: holds device '{H100_SLUG}', the benchmarks measured 'cpu-intel")
    assert h100_copy.read_bytes() == before


def test_files_of_two_devices_in_one_call_are_one_line_and_exit_2(
    h100_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(DEMO.read_text())
    document["benchmarks"][0]["extra_info"]["device"] = "nvidia-h200"
    other = write_json(tmp_path / "h200.json", document)
    before = h100_copy.read_bytes()
    code, out, err = run_cli(capsys, "baseline", "update", "--from-json", G350, "--from-json", other, h100_copy)
    assert (code, out, len(err)) == (2, [], 1)
    assert err[0].startswith("the benchmarks measured 2 devices (")
    assert f"{other}: nvidia-h200" in err[0] and f"{G350}: {H100_SLUG}" in err[0]
    assert h100_copy.read_bytes() == before


def _g350_with(change: str) -> Any:
    document = json.loads(G350.read_text())
    if change == "frames is text":
        document["benchmarks"][5]["extra_info"]["frames"] = "20"
    elif change == "data and rounds disagree":
        document["benchmarks"][0]["stats"]["data"].pop()
    elif change == "no suite benchmark":
        for benchmark in document["benchmarks"]:
            del benchmark["extra_info"]["workload"]
    elif change == "no benchmarks":
        del document["benchmarks"]
    elif change == "unknown outcome":
        document["benchmarks"][0]["extra_info"]["outcome"] = "great"
    return document


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ('{"benchmarks": [', "not valid JSON at line 1 column 17 (Expecting value)"),
        ("[1, 2]", "file: expected an object"),
        (_g350_with("no benchmarks"), "file.benchmarks: missing"),
        (_g350_with("no suite benchmark"), "no vggt-perf benchmarks (24 benchmarks, none with extra_info.workload)"),
        (_g350_with("frames is text"), ".extra_info.frames: expected an integer, got str"),
        (_g350_with("data and rounds disagree"), ".stats.data: holds 33 rounds, rounds says 34"),
        (_g350_with("unknown outcome"), ".extra_info.outcome: 'great' is none of"),
    ],
    ids=["truncated", "a list", "no benchmarks", "no suite benchmark", "text frames", "data short", "outcome"],
)
def test_a_malformed_json_is_one_line_naming_it_and_exit_2(
    h100_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: Any, says: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    before = h100_copy.read_bytes()
    code, out, err = run_cli(capsys, "baseline", "update", "--from-json", bad, h100_copy)
    assert (code, out, len(err)) == (2, [], 1)
    assert err[0].startswith(f"{bad}: ") and says in err[0]
    assert h100_copy.read_bytes() == before


def test_a_missing_json_and_a_malformed_baseline_file_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "baseline", "update", "--from-json", tmp_path / "absent.json", H100_FILE)
    assert (code, out, len(err)) == (2, [], 1)
    assert err[0].startswith(f"{tmp_path / 'absent.json'}: cannot be read (")
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema_version": 1, "device": {}, "runs": {}, "entries": []}', encoding="utf-8")
    code, out, err = run_cli(capsys, "baseline", "update", "--from-json", G350, broken)
    assert (code, out, err) == (
        2,
        [],
        [
            f"{broken}: file.entries: expected an object, got list "
            "(fix the field, or restore the file with git; it was not modified)"
        ],
    )


def test_the_conversion_imports_without_torch_and_the_cli_without_scipy() -> None:
    code = (
        "import sys; import perf.cli.main; assert 'scipy' not in sys.modules, 'perf.cli.main imported scipy'; "
        "import perf.storage.benchmark_json; "
        "assert 'torch' not in sys.modules, 'perf.storage.benchmark_json imported torch'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


_G350_DOCUMENT = json.loads(G350.read_text())
_DELETE = object()  # the field is removed rather than replaced
FUZZED_FIELDS = (
    *("workload", "frames", "outcome", "device", "peak_memory_bytes", "relative_error", "attention_kernel"),
    *("data", "median", "rounds", "stats", "extra_info", "name", "benchmarks", "datetime", "machine_info"),
)
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    where=st.sampled_from(["extra_info", "stats", "benchmark", "file"]),
    field=st.sampled_from(FUZZED_FIELDS),
    value=_JSON_VALUES | st.just(_DELETE),
)
def test_any_field_replaced_by_any_json_value_raises_only_the_projects_error(
    tmp_path: Path, where: str, field: str, value: Any
) -> None:
    document = copy.deepcopy(_G350_DOCUMENT)
    first = document["benchmarks"][0]
    target = {"extra_info": first["extra_info"], "stats": first["stats"], "benchmark": first, "file": document}[where]
    if value is _DELETE:
        target.pop(field, None)
    else:
        target[field] = value
    path = write_json(tmp_path / "fuzzed.json", document)
    try:
        file = read_benchmark_json(path)
        convert(file, "cmd", REGIMES, 0.05, 0.02)
    except BenchmarkJsonError as error:
        assert str(error).startswith(f"{path}: ") and "\n" not in str(error)
