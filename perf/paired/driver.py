"""`python -m perf paired`: BASE and HEAD timed in one job, N worker processes a side (--workers), their rounds
interleaved ABBA pair by pair so that drift over the hours hits both sides alike, and each side pooled over its
workers so that no one process's offset decides; head judged against base by the suite's statistics.

Per case: every worker prepares at once (model builds overlap), then they warm up one after the other (each alone on
the device, so a trial calibrates its work undisturbed), then take turns one round at a time (perf.paired.schedule)
until the suite's stopping rule says enough for both sides; the verdict is perf.paired.judgement's.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from perf.core.catalog import workload_regimes
from perf.core.results import CaseKey, Verdict
from perf.core.stats import summarize_rounds
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
            "workers_per_side": request.workers,
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
    start_worker: Callable[[str, WorkerSpec, int], Worker] = Worker,
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
    say(judgement.header(request.workers, label))
    say(f"paired: base {request.base.describe()}; head {request.head.describe()}")
    try:
        _save(request, record)  # at once: an unwritable --json is found before minutes of rounds
    except OSError as error:
        say(f"paired: --json {request.json_path} cannot be written ({error.strerror}): give a writable path")
        return 2
    workers: dict[Side, list[Worker]] = {Side.BASE: [], Side.HEAD: []}
    verdicts: list[Verdict] = []
    try:
        for side, spec in ((Side.BASE, request.base), (Side.HEAD, request.head)):
            for index in range(request.workers):
                workers[side].append(start_worker(side.value, spec, index))
        for key in request.cases:
            verdict = _paired_case(key, workers, request, policy, record, say)
            verdicts.append(verdict)
            say(judgement.verdict_line(verdict))
            _save_quietly(request, record, clock() - started)
        for worker in _every(workers):
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


def _every(workers: Mapping[Side, Sequence[Worker]]) -> list[Worker]:
    """Every worker, pair by pair: base 0, head 0, base 1, head 1, ..."""
    return [worker for pair in zip(workers[Side.BASE], workers[Side.HEAD], strict=False) for worker in pair]


def _paired_case(
    key: CaseKey,
    workers: Mapping[Side, Sequence[Worker]],
    request: PairedRequest,
    policy: RoundPolicy,
    record: _Record,
    say: Callable[[str], None],
) -> Verdict:
    case_id = key.case_id
    commands = {Side.BASE: Prepare(case_id), Side.HEAD: Prepare(case_id, request.head_slowdown)}
    everyone = [(side, index) for index in range(request.workers) for side in Side]  # pair by pair
    for side, index in everyone:
        workers[side][index].send(commands[side])  # all build at once
    answers = [(side, index, workers[side][index].receive(commands[side], Ready, Skipped)) for side, index in everyone]
    for side, index, answer in answers:
        if isinstance(answer, Failed):
            raise workers[side][index].failure(commands[side], answer.error)
    skipped: dict[str, str] = {}
    for side, _, answer in answers:
        if isinstance(answer, Skipped):
            skipped.setdefault(side.value, answer.reason)  # a side's workers share their spec: one reason a side
    if skipped:
        record.cases.append({"case_id": case_id, "verdict": "skipped", "skipped": skipped})
        return judgement.skipped_verdict(case_id, skipped)
    ready = {side: answer for side, index, answer in answers if index == 0 and isinstance(answer, Ready)}
    _note_environments(ready, record, say)
    warm = Warm(case_id, policy.warmup_s, policy.max_time_s)
    warmed = {(side, index): workers[side][index].ask(warm, Warmed) for side, index in everyone}  # one by one

    def time_round(side: Side, index: int) -> float:
        return workers[side][index].ask(Round(case_id), Timed).seconds

    rounds = take_rounds(time_round, policy, request.workers)
    base_s, head_s = rounds.by_worker(Side.BASE), rounds.by_worker(Side.HEAD)
    verdict = judgement.paired_verdict(
        case_id, base_s, head_s, workload_regimes()[key.workload], request.time_tolerance
    )
    record.cases.append(_case_record(case_id, ready, warmed, rounds, verdict))
    return verdict


def _note_environments(ready: Mapping[Side, Ready], record: _Record, say: Callable[[str], None]) -> None:
    """The first case both sides ran records their environments (each side's first worker's: a side's workers share
    their interpreter and paths) and says how they differ."""
    if record.environments:
        return
    for side, answer in ready.items():
        record.environments[side.value] = answer.environment
    for line in judgement.environment_lines(record.environments["base"], record.environments["head"]):
        say(line)


def _case_record(
    case_id: str,
    ready: Mapping[Side, Ready],
    warmed: Mapping[tuple[Side, int], Warmed],
    rounds: PairedRounds,
    verdict: Verdict,
) -> dict[str, Any]:
    (comparison,) = verdict.comparisons
    ended = {Side.BASE: rounds.base_ended_by, Side.HEAD: rounds.head_ended_by}
    medians = {side: [summarize_rounds(s).median_s for s in rounds.by_worker(side)] for side in Side}
    sides = {
        side.value: {
            "dtype": ready[side].dtype,
            "samples_s": list(rounds.samples_s(side)),  # all its workers' rounds, in the order they ran
            "median_s": judgement.pooled_side(rounds.by_worker(side)).median_s,  # the median of its workers' medians
            "rounds_ended_by": ended[side].value,
        }
        for side in Side
    }
    workers = [
        {
            "side": side.value,
            "worker": index,
            "samples_s": list(samples),
            "median_s": medians[side][index],
            "warm_forward_s": warmed[side, index].forward_s,
            "added_s": warmed[side, index].added_s,
        }
        for index in range(rounds.workers)
        for side in Side
        for samples in (rounds.samples_s(side, index),)
    ]
    return {
        "case_id": case_id,
        "verdict": verdict.kind.value,
        "reason": verdict.reason,
        "comparison": dataclasses.asdict(comparison) | {"kind": comparison.kind.value},
        "tolerance_medians_s": list(judgement.tolerance_medians(medians[Side.BASE], medians[Side.HEAD])),
        "order": [{"side": side.value, "worker": index, "seconds": seconds} for side, index, seconds in rounds.order],
        **sides,
        "workers": workers,
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


def _close(workers: Mapping[Side, Sequence[Worker]], keep_logs: bool) -> None:
    for side_workers in workers.values():
        for worker in side_workers:
            worker.close(keep_log=keep_logs)
