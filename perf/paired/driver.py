"""`python -m perf paired`: BASE and HEAD timed in one job, one worker process each, their rounds interleaved ABBA
so that drift between processes and hours hits both sides alike; head judged against base by the suite's statistics.

Per case: both workers prepare at once (model builds overlap), then warm up one after the other (alone on the device,
so a trial calibrates its work undisturbed), then take turns one round at a time (perf.paired.schedule) until the
suite's stopping rule says enough for both; the verdict is perf.paired.judgement's.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from perf.core.catalog import workload_regimes
from perf.core.results import CaseKey, Verdict
from perf.measure.timing import RoundPolicy
from perf.paired import judgement
from perf.paired.protocol import Bye, Failed, Prepare, Quit, Ready, Round, Skipped, Timed, Warm, Warmed
from perf.paired.request import PairedRequest, WorkerSpec
from perf.paired.schedule import PairedRounds, Side, take_rounds
from perf.paired.workers import Worker, WorkerFailure
from perf.report.verdicts import summarize_counts
from perf.storage.atomic import write_text_atomically


@dataclass
class _Record:
    """Everything the run found so far, as the JSON file holds it."""

    request: PairedRequest
    policy: RoundPolicy
    environments: dict[str, Mapping[str, str]] = field(default_factory=dict)
    cases: list[dict[str, Any]] = field(default_factory=list)
    failure: str = ""
    took_s: float = 0.0

    def document(self) -> dict[str, Any]:
        request = self.request
        base, head = self.environments.get("base", {}), self.environments.get("head", {})
        return {
            "command": request.command,
            "trial": judgement.trial_label(request.head_slowdown) or None,
            "head_slowdown": request.head_slowdown,
            "workers": {side: _spec(getattr(request, side)) for side in ("base", "head")},
            "policy": dataclasses.asdict(self.policy),
            "least_time_tolerance": request.time_tolerance,
            "environments": {"base": dict(base), "head": dict(head)},
            "environment_differences": judgement.difference_records(base, head) if base and head else [],
            "cases": self.cases,
            "failure": self.failure or None,
            "took_s": self.took_s,
        }


def _spec(spec: WorkerSpec) -> dict[str, Any]:
    return {"python": spec.python, "paths": [str(path) for path in spec.paths]}


def run_paired(
    request: PairedRequest,
    out: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
    start_worker: Callable[[str, WorkerSpec], Worker] = Worker,
) -> int:
    """Every case of the request, base against head; 0 when none regressed, 1 when one did, 2 when a worker failed
    or the JSON file cannot be written. clock times the whole run for the record only; clock and start_worker are
    stand-ins in tests."""
    started = clock()
    policy = RoundPolicy(
        request.warmup_s,
        request.max_time_s,
        min_rounds=request.min_rounds,
        max_rounds=request.max_rounds,
        precision=request.precision,
    )
    record = _Record(request, policy)
    say = _printer(out or sys.stdout)
    label = judgement.trial_label(request.head_slowdown)
    say(judgement.HEADER + (f"; {label}" if label else ""))
    say(f"paired: base {request.base.describe()}; head {request.head.describe()}")
    try:
        _save(request, record)  # at once: an unwritable --json is found before minutes of rounds
    except OSError as error:
        say(f"paired: --json {request.json_path} cannot be written ({error.strerror}): give a writable path")
        return 2
    workers: dict[Side, Worker] = {}
    verdicts: list[Verdict] = []
    try:
        workers[Side.BASE] = start_worker("base", request.base)
        workers[Side.HEAD] = start_worker("head", request.head)
        for key in request.cases:
            verdict = _paired_case(key, workers, request, policy, record, say)
            verdicts.append(verdict)
            say(judgement.verdict_line(verdict))
            _save_quietly(request, record, clock() - started)
        for worker in workers.values():
            worker.ask(Quit(), Bye)
    except WorkerFailure as failure:
        record.failure = str(failure)
        say(str(failure))
        _close(workers, keep_logs=True)
        _save_quietly(request, record, clock() - started)
        return 2
    _close(workers, keep_logs=False)
    _save_quietly(request, record, clock() - started)
    say(f"paired: {summarize_counts(verdicts) or 'no cases'}" + (f" ({label})" if label else ""))
    return judgement.exit_code(verdicts)


def _paired_case(
    key: CaseKey,
    workers: Mapping[Side, Worker],
    request: PairedRequest,
    policy: RoundPolicy,
    record: _Record,
    say: Callable[[str], None],
) -> Verdict:
    case_id = key.case_id
    commands = {Side.BASE: Prepare(case_id), Side.HEAD: Prepare(case_id, request.head_slowdown)}
    for side, worker in workers.items():
        worker.send(commands[side])  # both build at once
    answers = {side: worker.receive(commands[side], Ready, Skipped) for side, worker in workers.items()}
    for side, answer in answers.items():
        if isinstance(answer, Failed):
            raise workers[side].failure(commands[side], answer.error)
    skipped = {side.value: a.reason for side, a in answers.items() if isinstance(a, Skipped)}
    if skipped:
        record.cases.append({"case_id": case_id, "verdict": "skipped", "skipped": skipped})
        return judgement.skipped_verdict(case_id, skipped)
    _note_environments(answers, record, say)
    warm = Warm(case_id, policy.warmup_s, policy.max_time_s)
    warmed = {side: worker.ask(warm, Warmed) for side, worker in workers.items()}  # one after the other

    def time_round(side: Side) -> float:
        return workers[side].ask(Round(case_id), Timed).seconds

    rounds = take_rounds(time_round, policy)
    base_s, head_s = rounds.samples_s(Side.BASE), rounds.samples_s(Side.HEAD)
    verdict = judgement.paired_verdict(
        case_id, base_s, head_s, workload_regimes()[key.workload], request.time_tolerance
    )
    record.cases.append(_case_record(case_id, answers, warmed, rounds, verdict))
    return verdict


def _note_environments(answers: Mapping[Side, object], record: _Record, say: Callable[[str], None]) -> None:
    """The first case both sides ran records their environments and says how they differ."""
    if record.environments:
        return
    for side, answer in answers.items():
        assert isinstance(answer, Ready)
        record.environments[side.value] = answer.environment
    for line in judgement.environment_lines(record.environments["base"], record.environments["head"]):
        say(line)


def _case_record(
    case_id: str, answers: Mapping[Side, object], warmed: Mapping[Side, Warmed], rounds: PairedRounds, verdict: Verdict
) -> dict[str, Any]:
    (comparison,) = verdict.comparisons
    ended = {Side.BASE: rounds.base_ended_by, Side.HEAD: rounds.head_ended_by}
    sides = {
        side.value: {
            "dtype": answer.dtype if isinstance(answer, Ready) else "",
            "samples_s": list(rounds.samples_s(side)),
            "rounds_ended_by": ended[side].value,
            "warm_forward_s": warmed[side].forward_s,
            "added_s": warmed[side].added_s,
        }
        for side, answer in answers.items()
    }
    return {
        "case_id": case_id,
        "verdict": verdict.kind.value,
        "reason": verdict.reason,
        "comparison": dataclasses.asdict(comparison) | {"kind": comparison.kind.value},
        "order": [{"side": side.value, "seconds": seconds} for side, seconds in rounds.order],
        **sides,
    }


def _printer(out: TextIO) -> Callable[[str], None]:
    def say(line: str) -> None:
        out.write(line + "\n")
        out.flush()  # a long run shows each case as it ends

    return say


def _save(request: PairedRequest, record: _Record) -> None:
    if request.json_path is not None:
        write_text_atomically(request.json_path, json.dumps(record.document(), indent=1) + "\n")


def _save_quietly(request: PairedRequest, record: _Record, took_s: float) -> None:
    """The last save: the file was writable at the start, so a failure now is reported, not raised."""
    record.took_s = took_s
    try:
        _save(request, record)
    except OSError as error:
        print(f"paired: --json {request.json_path} was not updated: {error.strerror}", file=sys.stderr)


def _close(workers: Mapping[Side, Worker], keep_logs: bool) -> None:
    for worker in workers.values():
        worker.close(keep_log=keep_logs)
