"""The A/A and sensitivity trials: their tables, the slowdown they inject, and a whole run on the CPU."""

from __future__ import annotations

import gc
import json
import statistics
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from perf.core.compare import GIB, judge
from perf.core.results import CaseKey, CaseResult, Evidence, Memory, Outcome, Resolution, VerdictKind
from perf.core.stats import summarize_rounds
from perf.core.tolerance import new_entry
from perf.measure.timing import RoundPolicy
from perf.tools import gate_trials
from perf.tools.gate_trials import main, run_trials
from perf.tools.slowdown import CALIBRATION_PRODUCTS, calibrated_work, slowed_down
from perf.tools.trial_tables import Trial, tables, trial
from perf.workloads.registry import WORKLOADS
from perf.workloads.runtime import Runtime
from perf.workloads.vggt import VggtModels


def made(frames: int, slowdown: float, verdict: str, ratio: float, detectable: float = 0.05) -> Trial:
    return Trial(f"c{frames}", frames, slowdown, 0.0, verdict, ratio, 0.05, detectable, None, 9, "precision", "")


def test_the_tables_count_false_regressions_and_catches_per_frames_and_slowdown() -> None:
    trials = [
        made(8, 0.0, "pass", 1.01),
        made(8, 0.0, "regression", 1.07, detectable=0.06),
        made(8, 0.0, "pass", 0.99),
        made(8, 0.05, "regression", 1.06),
        made(8, 0.05, "pass", 1.04),
        made(1, 0.0, "pass", 1.2, detectable=0.5),
    ]
    assert tables(trials) == [
        "| frames | A/A runs | false regressions | ratio median | ratio max | detectable median |",
        "|---:|---:|---:|---:|---:|---:|",
        "| 1 | 1 | 0 | x1.200 | x1.200 | 50% |",
        "| 8 | 3 | 1 | x1.010 | x1.070 | 5% |",
        "",
        "| frames | slowdown | caught | ratio median | tolerance median |",
        "|---:|---:|---:|---:|---:|",
        "| 8 | 5% | 1 of 2 | x1.050 | 5% |",
    ]


def test_the_calibrated_work_is_whole_products_near_the_asked_time() -> None:
    readings = iter([0.0, 0.003 * CALIBRATION_PRODUCTS])  # a stand-in clock: each product takes 3 ms
    products: list[int] = []
    work, added_s = calibrated_work(torch.device("cpu"), 0.01, clock=lambda: next(readings))
    assert added_s == pytest.approx(0.009)  # 3 whole products: the nearest to 10 ms
    mm = torch.mm
    try:
        torch.mm = lambda *args, **kwargs: products.append(1) or mm(*args, **kwargs)  # type: ignore[assignment]
        work()
    finally:
        torch.mm = mm
    assert len(products) == 3


def test_a_slowed_down_workload_runs_the_work_after_its_forward_and_leaves_the_registry_alone() -> None:
    original = WORKLOADS["attention"]
    calls: list[str] = []
    cpu = torch.device("cpu")
    key = CaseKey("attention", "sdpa-math", 1, Resolution(28, 28))
    slower = slowed_down(original, lambda: calls.append("work"))
    outputs = slower.prepare(key, Runtime(cpu, VggtModels(cpu, None))).forward()
    assert calls == ["work"]
    assert [tuple(output.shape) for output in outputs] == [(1, 16, 9, 64), (1, 16, 9, 64)]  # unchanged
    assert slower.info == original.info and WORKLOADS["attention"] is original
    original.prepare(key, Runtime(cpu, VggtModels(cpu, None))).forward()
    assert calls == ["work"]  # the registered workload runs no added work


@pytest.fixture
def frozen_heap() -> Iterator[None]:
    """measure_case runs gc.collect() around every case; frozen, this process's objects make that cheap."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("frozen_heap")
def test_a_whole_run_on_the_cpu_writes_every_trial_and_prints_both_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Calibration reads the CPU's clock: a stand-in makes the added work exactly what was asked, on a loaded CPU too.
    monkeypatch.setattr(gate_trials, "calibrated_work", lambda device, extra_s: (lambda: None, extra_s))
    out = tmp_path / "trials.json"
    arguments = ["--workload", "attention", "--backend", "sdpa-math", "--frames", "2", "--resolution", "28x28"]
    arguments += ["--aa", "2", "--slowdowns", "1.0", "--repeats", "2", "--max-time", "0.02", "--out", str(out)]
    arguments += ["--warmup-time", "0"]
    arguments += ["--vggt-revision", "44b3afb"]
    assert main(arguments) == 0
    document = json.loads(out.read_text())
    assert document["command"] == "python -m perf.tools.gate_trials " + " ".join(arguments)
    assert (document["environment"]["torch"], document["environment"]["vggt"]) == (torch.__version__, "44b3afb")
    (baseline,) = document["baselines"]
    assert baseline["case_id"] == "attention-sdpa-math-2f-28x28" and len(baseline["samples_s"]) >= 3
    trials = document["trials"]
    assert [t["slowdown"] for t in trials] == [0.0, 0.0, 1.0, 1.0]
    median = statistics.median(baseline["samples_s"])
    assert all(t["added_s"] == 0 for t in trials[:2]) and trials[2]["added_s"] == pytest.approx(median)
    printed = capsys.readouterr().out
    assert "| 2 | 2 |" in printed and "| 2 | 100% |" in printed


def test_a_case_that_cannot_run_stops_the_trials_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = ["--workload", "attention", "--backend", "sdpa-cudnn", "--frames", "1", "--resolution", "28x28"]
    assert main([*arguments, "--out", str(tmp_path / "trials.json")]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("gate trials stopped: attention-sdpa-cudnn-1f-28x28: skipped: ")
    assert "\n" not in error
    assert json.loads((tmp_path / "trials.json").read_text())["trials"] == []  # this run's file, not an old one


def test_a_trial_is_judged_on_time_alone_so_added_memory_is_never_a_catch() -> None:
    key = CaseKey("attention", "sdpa-math", 1, Resolution(28, 28))
    timing = summarize_rounds([0.1] * 6)
    entry = new_entry(
        key,
        "fp32",
        timing,
        Memory(GIB, GIB),
        Evidence(),
        least_time_tolerance=0.05,
        memory_tolerance=0.02,
        regimes=(),
    )
    heavier = CaseResult(key, Outcome.OK, "fp32", timing, Memory(2 * GIB, 2 * GIB))
    assert judge(heavier, entry).kind is VerdictKind.REGRESSION  # the gate's verdict: memory regressed
    assert trial(heavier, entry, 1, 0.05, 0.005).verdict == "pass"  # the trial's: time did not


def test_a_slowdown_of_zero_is_refused_it_would_be_an_aa_trial(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--slowdowns", "0.05,0", "--out", str(tmp_path / "trials.json")])
    assert exited.value.code == 2


CPU = torch.device("cpu")
ATTENTION_KEY = CaseKey("attention", "sdpa-math", 1, Resolution(28, 28))


def counted_measurements(monkeypatch: pytest.MonkeyPatch, interrupt_at: int | None = None) -> list[float]:
    """measure_case replaced: the n-th measurement's rounds all take 1 + n / 1000 s; no work is added."""
    medians: list[float] = []

    def measure(
        key: CaseKey, workload: object, backend: object, fixture: object, runtime: Runtime, policy: RoundPolicy
    ) -> CaseResult:
        if interrupt_at is not None and len(medians) == interrupt_at:
            raise KeyboardInterrupt
        medians.append(1 + len(medians) / 1000)
        return CaseResult(key, Outcome.OK, "fp32", summarize_rounds([medians[-1]] * 6))

    monkeypatch.setattr(gate_trials, "measure_case", measure)
    monkeypatch.setattr(gate_trials, "calibrated_work", lambda device, extra_s: (lambda: None, extra_s))
    return medians


def test_trials_settle_first_and_save_everything_after_each_trial(monkeypatch: pytest.MonkeyPatch) -> None:
    medians = counted_measurements(monkeypatch)
    saved: list[tuple[int, list[float]]] = []
    runtime = Runtime(CPU, VggtModels(CPU, None))
    baselines, trials = run_trials(
        runtime,
        [ATTENTION_KEY],
        RoundPolicy(),
        2,
        [0.05],
        1,
        settle=2,
        save=lambda b, t: saved.append((len(b), [x.samples_s[0] for x in t])),
    )
    assert len(medians) == 2 + 1 + 2 + 1  # settling, baseline, A/A, one slowdown
    assert baselines[0]["samples_s"] == [1.002] * 6  # the third measurement: two were thrown away
    assert [t.samples_s for t in trials] == [(1.003,) * 6, (1.004,) * 6, (1.005,) * 6]
    assert saved == [(1, []), (1, [1.003]), (1, [1.003, 1.004]), (1, [1.003, 1.004, 1.005])]


def test_an_interrupted_run_keeps_the_trials_measured_before_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    counted_measurements(monkeypatch, interrupt_at=4)  # settle, baseline, two A/A trials, then Ctrl-C
    out = tmp_path / "trials.json"
    arguments = ["--workload", "attention", "--backend", "sdpa-math", "--frames", "1", "--resolution", "28x28"]
    with pytest.raises(KeyboardInterrupt):
        main([*arguments, "--aa", "5", "--out", str(out)])
    assert [t["samples_s"] for t in json.loads(out.read_text())["trials"]] == [[1.002] * 6, [1.003] * 6]


@pytest.mark.parametrize("settle", ["-1", "one"])
def test_settle_is_a_whole_number(settle: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--settle", settle, "--out", "x.json"])
    assert f"{settle} is not a whole number (0 or more)" in capsys.readouterr().err


def test_an_unwritable_out_is_one_line_before_any_trial(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "missing-folder" / "trials.json"
    (tmp_path / "missing-folder").write_text("a file where the folder should be")
    arguments = ["--workload", "attention", "--backend", "sdpa-math", "--frames", "1", "--resolution", "28x28"]
    assert main([*arguments, "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"gate trials stopped: --out {out} cannot be written (") and "\n" not in error


def test_a_case_without_trials_is_saved_with_its_baseline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    counted_measurements(monkeypatch)
    out = tmp_path / "trials.json"
    arguments = ["--case", "attention-sdpa-math-1f-28x28", "--aa", "0", "--settle", "0", "--slowdowns", "0.03"]
    main([*arguments, "--slowed", "attention-sdpa-math-2f-28x28", "--out", str(out)])
    document = json.loads(out.read_text())
    assert [b["case_id"] for b in document["baselines"]] == ["attention-sdpa-math-1f-28x28"]
    assert document["trials"] == []  # not slowed: only its baseline, the process's first measurement
