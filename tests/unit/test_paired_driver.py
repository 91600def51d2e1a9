"""The paired driver: with stand-in workers its verdicts, exit codes and JSON file; with two real workers a side on
the CPU one whole run through `python -m perf paired` (structure and counts only, never speed); its options'
defaults."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from perf.cli.main import main
from perf.core.catalog import parse_case_id
from perf.measure.timing import RoundPolicy
from perf.paired import request as defaults
from perf.paired.driver import run_paired
from perf.paired.protocol import Bye, Command, Failed, Prepare, Quit, Ready, Reply, Round, Skipped, Timed, Warm, Warmed
from perf.paired.request import PairedRequest, WorkerSpec
from perf.paired.schedule import side_of_turn, worker_of_turn
from perf.paired.workers import Worker, worker_environment

CASE = "vggt-aggregator-sdpa-default-20f-350x518"
CPU_CASE = "attention-sdpa-math-1f-126x182"
GPU_ONLY_CASE = "attention-sdpa-cudnn-1f-126x182"


class StandInWorker(Worker):
    """Answers as a worker would, from `answer`, with no process."""

    def __init__(self, side: str, spec: WorkerSpec, index: int, answer: Callable[[Command], Reply]) -> None:
        self.side, self.spec, self.index, self.log = side, spec, index, Path(f"{side}{index}.log")
        self.answer = answer
        self.pending: list[Command] = []
        self.closed = False

    def send(self, command: Command) -> None:
        self.pending.append(command)

    def receive(self, command: Command, *expected: type[object]) -> Reply:
        return self.answer(self.pending.pop(0))

    def close(self, keep_log: bool) -> None:
        self.closed = True


def answers(
    seconds: Iterator[float],
    environment: dict[str, str],
    fail_at: str = "",
    error: str = "RuntimeError: CUDA error: out of memory",
) -> Callable[[Command], Reply]:
    def answer(command: Command) -> Reply:
        name = type(command).__name__.lower()
        if name == fail_at:
            return Failed(name, getattr(command, "case_id", ""), error)
        if isinstance(command, Prepare):
            if command.case_id == GPU_ONLY_CASE:
                return Skipped(command.case_id, "sdpa-cudnn runs on cuda only")
            return Ready(command.case_id, "bf16", environment)
        if isinstance(command, Warm):
            return Warmed(command.case_id, 0.3, 0.0)
        if isinstance(command, Round):
            return Timed(command.case_id, next(seconds))
        assert isinstance(command, Quit)
        return Bye()

    return answer


def tight(scale: float) -> Iterator[float]:
    return (0.3 * scale * (1 + 0.001 * (i % 5 - 2)) for i in itertools.count())


def starter(
    base: Callable[[Command], Reply], head: Callable[[Command], Reply], started: list[StandInWorker]
) -> Callable[[str, WorkerSpec, int], Worker]:
    def start(side: str, spec: WorkerSpec, index: int) -> Worker:
        started.append(StandInWorker(side, spec, index, base if side == "base" else head))
        return started[-1]

    return start


def ticking() -> Callable[[], float]:
    ticks = itertools.count()
    return lambda: float(next(ticks))


def request(tmp_path: Path, *case_ids: str, **options: object) -> PairedRequest:
    cases = tuple(parse_case_id(c) for c in case_ids)
    return PairedRequest(cases, json_path=tmp_path / "paired.json", **options)  # type: ignore[arg-type]


def test_a_head_five_percent_slower_regresses_with_exit_1_and_every_round_in_the_json(tmp_path: Path) -> None:
    out, started = io.StringIO(), []
    env = {"torch": "2.11.0", "vggt": "a" * 40}
    start = starter(answers(tight(1.0), env), answers(tight(1.05), {**env, "vggt": "b" * 40}), started)
    code = run_paired(request(tmp_path, CASE, GPU_ONLY_CASE), out, ticking(), start)
    assert code == 1
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("paired: head vs base") and lines[0].endswith("(3 workers per side)")
    assert any(line.startswith("paired: the environments differ") and "vggt" in line for line in lines)
    assert any(line.startswith(f"REGRESSION {CASE}: time 0.3150 s vs baseline 0.3000 s (x1.050") for line in lines)
    assert any(line.startswith(f"SKIPPED {GPU_ONLY_CASE}: skipped (base: sdpa-cudnn") for line in lines)
    assert lines[-1] == "paired: 1 regression, 1 skipped"
    document = json.loads((tmp_path / "paired.json").read_text())
    measured, skipped = document["cases"]
    assert measured["verdict"] == "regression" and skipped["verdict"] == "skipped"
    assert [(r["side"], r["worker"]) for r in measured["order"][:8]] == [
        ("base", 0),
        ("head", 0),
        ("head", 0),
        ("base", 0),
        ("base", 1),
        ("head", 1),
        ("head", 1),
        ("base", 1),
    ]
    workers = defaults.DEFAULT_WORKERS
    assert (
        len(measured["base"]["samples_s"])
        == len(measured["head"]["samples_s"])
        == workers * defaults.DEFAULT_MIN_ROUNDS
    )
    assert [(w["side"], w["worker"]) for w in measured["workers"]] == [
        (side, index) for index in range(workers) for side in ("base", "head")
    ]
    assert all(len(w["samples_s"]) == defaults.DEFAULT_MIN_ROUNDS for w in measured["workers"])
    assert len(measured["tolerance_medians_s"]) == 2 * workers and document["workers_per_side"] == workers
    assert document["environment_differences"] == [{"field": "vggt", "base": "a" * 40, "head": "b" * 40}]
    assert document["trial"] is None and document["failure"] is None and document["took_s"] > 0
    assert len(started) == 2 * workers and all(worker.closed for worker in started)


def test_identical_sides_pass_with_exit_0(tmp_path: Path) -> None:
    out = io.StringIO()
    start = starter(answers(tight(1.0), {}), answers(tight(1.0), {}), [])
    assert run_paired(request(tmp_path, CASE), out, ticking(), start) == 0
    assert out.getvalue().splitlines()[-1] == "paired: 1 pass"
    assert "environments differ" not in out.getvalue()


def test_a_trial_says_so_in_the_output_and_the_json(tmp_path: Path) -> None:
    out = io.StringIO()
    start = starter(answers(tight(1.0), {}), answers(tight(1.0), {}), [])
    assert run_paired(request(tmp_path, CASE, head_slowdown=0.03), out, ticking(), start) == 0
    assert out.getvalue().splitlines()[0].endswith("(3 workers per side); trial: head slowed by 3 %")
    assert out.getvalue().splitlines()[-1] == "paired: 1 pass (trial: head slowed by 3 %)"
    assert json.loads((tmp_path / "paired.json").read_text())["trial"] == "trial: head slowed by 3 %"


def test_a_worker_that_fails_is_one_line_and_exit_2_and_the_json_keeps_it(tmp_path: Path) -> None:
    out = io.StringIO()
    start = starter(answers(tight(1.0), {}), answers(tight(1.0), {}, fail_at="warm"), [])
    assert run_paired(request(tmp_path, CASE), out, ticking(), start) == 2
    last = out.getvalue().splitlines()[-1]
    assert last.startswith(f"paired: the head worker 0 ({WorkerSpec().describe()}) failed at warm of {CASE}: ")
    assert "out of memory" in last and "head0.log" in last
    assert "run with fewer --workers" in last and "--head-path" not in last  # what to do about an OOM
    assert json.loads((tmp_path / "paired.json").read_text())["failure"] == last


def test_a_worker_failing_otherwise_points_at_its_sides_interpreter_and_paths(tmp_path: Path) -> None:
    out = io.StringIO()
    broken = answers(tight(1.0), {}, fail_at="prepare", error="ModuleNotFoundError: No module named 'vggt'")
    assert run_paired(request(tmp_path, CASE), out, ticking(), starter(answers(tight(1.0), {}), broken, [])) == 2
    last = out.getvalue().splitlines()[-1]
    assert "No module named 'vggt'" in last and "check --head-python and --head-path" in last
    assert "--workers" not in last


def test_an_unwritable_json_path_is_exit_2_before_any_worker_starts(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    out, started = io.StringIO(), []
    start = starter(answers(tight(1.0), {}), answers(tight(1.0), {}), started)
    bad = PairedRequest((parse_case_id(CASE),), json_path=tmp_path / "file" / "paired.json")
    assert run_paired(bad, out, ticking(), start) == 2
    assert "cannot be written" in out.getvalue() and started == []


def test_a_workers_paths_come_first_on_its_pythonpath(tmp_path: Path) -> None:
    spec = WorkerSpec("python", (tmp_path / "vggt-head",))
    paths = worker_environment(spec, {"PYTHONPATH": "/inherited", "HOME": "/h"})["PYTHONPATH"].split(":")
    assert paths[0] == str(tmp_path / "vggt-head") and paths[-1] == "/inherited"


def test_workers_must_be_at_least_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["paired", "--case", CPU_CASE, "--workers", "0"])
    assert exit_.value.code == 2
    assert "--workers" in capsys.readouterr().err


def test_one_worker_a_side_runs_plain_abba_with_min_rounds_a_side(tmp_path: Path) -> None:
    out, started = io.StringIO(), []
    start = starter(answers(tight(1.0), {}), answers(tight(1.0), {}), started)
    assert run_paired(request(tmp_path, CASE, workers=1), out, ticking(), start) == 0
    assert out.getvalue().splitlines()[0].endswith("(1 worker per side)") and len(started) == 2
    (measured,) = json.loads((tmp_path / "paired.json").read_text())["cases"]
    assert [r["side"] for r in measured["order"][:4]] == ["base", "head", "head", "base"]
    assert len(measured["base"]["samples_s"]) == defaults.DEFAULT_MIN_ROUNDS
    assert measured["tolerance_medians_s"] == [] and measured["comparison"]["tolerance"] == 0.03


def test_the_options_defaults_are_the_suites_round_policy() -> None:
    assert RoundPolicy.warmup_s == defaults.DEFAULT_WARMUP_S
    assert RoundPolicy.precision == defaults.DEFAULT_PRECISION


def test_a_bad_case_id_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["paired", "--case", "vggt-aggregator-nokernel-1f-350x518"])
    assert exit_.value.code == 2
    assert "--case" in capsys.readouterr().err


def test_a_head_interpreter_that_does_not_start_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["paired", "--case", CPU_CASE, "--head-python", "/nonexistent/python"]) == 2
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("paired: the head worker 0 did not start: /nonexistent/python") and "--head-python" in last


def test_two_real_workers_a_side_on_the_cpu_give_a_verdict_a_skip_and_every_round(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "aa.json"
    argv = ["paired", "--case", CPU_CASE, "--case", GPU_ONLY_CASE, "--head-path", str(tmp_path), "--workers", "2"]
    argv += ["--min-rounds", "4", "--max-time", "0", "--warmup-time", "0", "--time-tolerance", "9"]
    argv += ["--head-slowdown", "0.5", "--json", str(out)]
    assert main(argv) == 0  # +900 % tolerance: the pass does not rest on the CPU's speed
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("(2 workers per side); trial: head slowed by 50 %")
    assert any(line.startswith(f"PASS {CPU_CASE}: time ") for line in lines)
    assert any(line.startswith(f"SKIPPED {GPU_ONLY_CASE}: skipped (base: ") for line in lines)
    assert lines[-1] == "paired: 1 pass, 1 skipped (trial: head slowed by 50 %)"
    document = json.loads(out.read_text())
    measured = document["cases"][0]
    turns = range(len(measured["order"]))
    assert [(r["side"], r["worker"]) for r in measured["order"]] == [
        (side_of_turn(t).value, worker_of_turn(t, 2)) for t in turns
    ]
    assert len(measured["base"]["samples_s"]) == len(measured["head"]["samples_s"]) == 8  # --max-time 0: 4 a worker
    assert [(w["side"], w["worker"], len(w["samples_s"])) for w in measured["workers"]] == [
        ("base", 0, 4),
        ("head", 0, 4),
        ("base", 1, 4),
        ("head", 1, 4),
    ]
    assert all(w["added_s"] == 0 for w in measured["workers"] if w["side"] == "base")
    assert all(w["added_s"] > 0 for w in measured["workers"] if w["side"] == "head")  # each calibrated its own
    assert document["workers_per_side"] == 2 and len(measured["tolerance_medians_s"]) == 4
    assert document["environments"]["base"]["torch"] == document["environments"]["head"]["torch"]
    assert document["environment_differences"] == []
    assert document["workers"]["head"]["paths"] == [str(tmp_path)]


def test_a_head_worker_that_dies_before_answering_is_exit_2_naming_its_exit_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["paired", "--case", GPU_ONLY_CASE, "--head-python", "/bin/false", "--workers", "1"]) == 2
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith(
        f"paired: the head worker 0 (/bin/false, PYTHONPATH first none) failed at prepare of {GPU_ONLY_CASE}"
    )
    assert "exited with code 1 before answering; its stderr is empty" in last
