"""A/A and sensitivity trials of the gate, in one process: how often it cries wolf, and which slowdowns it catches.

    python -m perf.tools.gate_trials --frames 1,8,20 --aa 20 --slowdowns 0.02,0.03,0.05,0.1 --repeats 10 \
        --out trials.json

Each case's baseline is measured first and turned into an entry as --update-baselines does (a suspect baseline
is reported, not refused: the trials measure the gate, whatever the GPU's state). The gate (perf.measure.case and
perf.core.compare, as the pytest plugin runs them) then judges fresh measurements against it: --aa times unchanged, and
--repeats times for each slowdown. A slowdown is real GPU work, no sleep: matrix products appended to every
forward, calibrated on the device to that fraction of the baseline's median; the ratio column shows what it
really cost (the added work also draws power and can lower the clock). A trial counts as caught when its time
regressed: the calibration matrices stay allocated, so peak memory is not compared. Every trial goes to --out
(JSON), and two markdown tables to stdout.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from perf.backends.protocol import Backend
from perf.backends.registry import BACKENDS
from perf.core.arguments import count, fraction, list_of, positive_int, seconds
from perf.core.baselines import BaselineEntry
from perf.core.catalog import README_RESOLUTION
from perf.core.compare import judge
from perf.core.results import CaseKey, CaseResult, Outcome, Resolution, VerdictKind
from perf.core.tolerance import DEFAULT_MEMORY_TOLERANCE, DEFAULT_TIME_TOLERANCE, new_entry
from perf.hardware.device import select_device, synchronize
from perf.hardware.fingerprint import fingerprint, vggt_revision
from perf.measure.case import measure_case
from perf.measure.timing import RoundPolicy
from perf.storage.atomic import write_text_atomically
from perf.workloads.registry import WORKLOADS, Workload
from perf.workloads.runtime import Prepared, Runtime
from perf.workloads.vggt import VggtModels

# Matrix products calibrating the added work: large enough that launching them costs nothing beside their run.
WORK_SIDE = {"cuda": 4096, "cpu": 128}
CALIBRATION_PRODUCTS = 20


class RoundsFixture:
    """pytest-benchmark's fixture as perf.measure.case uses it, for a process that is not a pytest session: pedantic
    calls setup before each round (an exception there propagates, marking the fixture errored) and keeps the
    completed rounds' seconds in stats.stats.data."""

    def __init__(self) -> None:
        self.stats: Any = None
        self.has_error = False

    def pedantic(
        self, target: Callable[[], object], setup: Callable[[], None], rounds: int, iterations: int, warmup_rounds: int
    ) -> None:
        samples: list[float] = []
        self.stats = argparse.Namespace(stats=argparse.Namespace(data=samples))
        try:
            for _ in range(rounds):
                setup()
                started = time.perf_counter()
                target()
                samples.append(time.perf_counter() - started)
        except Exception:
            self.has_error = True
            raise


def calibrated_work(
    device: torch.device, extra_s: float, clock: Callable[[], float] = time.perf_counter
) -> tuple[Callable[[], None], float]:
    """GPU (or CPU) work taking about extra_s, and the seconds it was calibrated to: whole matrix products, timed
    on clock (a stand-in in tests) over CALIBRATION_PRODUCTS of them."""
    side = WORK_SIDE[device.type]
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    matrix = torch.randn(side, side, device=device, dtype=dtype)
    product = torch.empty_like(matrix)

    def one() -> None:
        torch.mm(matrix, matrix, out=product)

    for _ in range(3):
        one()
    synchronize(device)
    started = clock()
    for _ in range(CALIBRATION_PRODUCTS):
        one()
    synchronize(device)
    each_s = (clock() - started) / CALIBRATION_PRODUCTS
    count = max(1, round(extra_s / each_s))

    def work() -> None:
        for _ in range(count):
            one()

    return work, count * each_s


def slowed_down(workload: Workload, work: Callable[[], None]) -> Workload:
    """The workload, its forwards running `work` after themselves (their outputs are unchanged)."""

    def prepare(key: CaseKey, runtime: Runtime) -> Prepared:
        prepared = workload.prepare(key, runtime)

        def forward() -> object:
            output = prepared.forward()
            work()
            return output

        return dataclasses.replace(prepared, forward=forward)

    return dataclasses.replace(workload, prepare=prepare)


@dataclasses.dataclass(frozen=True)
class Trial:
    """One gate verdict on time: a case measured again (slowdown 0: unchanged) and judged against its baseline."""

    case_id: str
    frames: int
    slowdown: float
    added_s: float  # the calibrated work per forward
    verdict: str
    ratio: float
    tolerance: float
    detectable: float
    p_value: float | None
    rounds: int
    rounds_ended_by: str
    suspect: str
    samples_s: tuple[float, ...] = ()  # the rounds, so the verdict can be recomputed under another policy


def trial(result: CaseResult, entry: BaselineEntry, frames: int, slowdown: float, added_s: float) -> Trial:
    """The gate's verdict on one measurement, with the numbers behind it (pure)."""
    verdict = judge(result, entry)
    time_comparison = next((c for c in verdict.comparisons if c.metric == "time"), None)
    if result.outcome is not Outcome.OK or result.timing is None or time_comparison is None:
        raise TrialError(f"{result.key.case_id}: not measured ({verdict.reason})")
    return Trial(
        result.key.case_id,
        frames,
        slowdown,
        added_s,
        time_comparison.kind.value,
        time_comparison.ratio,
        time_comparison.tolerance,
        time_comparison.detectable,
        time_comparison.p_value,
        result.timing.rounds,
        result.rounds_ended_by,
        result.clocks.suspect,
        result.timing.samples_s,
    )


class TrialError(Exception):
    """A case that could not be measured: the trials stop with this one line."""


def tables(trials: Sequence[Trial]) -> list[str]:
    """The A/A table and the sensitivity table, as markdown lines (pure)."""
    regression = VerdictKind.REGRESSION.value
    lines = [
        "| frames | A/A runs | false regressions | ratio median | ratio max | detectable median |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    frames_seen = sorted({t.frames for t in trials})
    for frames in frames_seen:
        same = [t for t in trials if t.frames == frames and t.slowdown == 0]
        if same:
            lines.append(
                f"| {frames} | {len(same)} | {sum(t.verdict == regression for t in same)} "
                f"| x{statistics.median(t.ratio for t in same):.3f} | x{max(t.ratio for t in same):.3f} "
                f"| {statistics.median(t.detectable for t in same):.0%} |"
            )
    lines += ["", "| frames | slowdown | caught | ratio median | tolerance median |", "|---:|---:|---:|---:|---:|"]
    for frames in frames_seen:
        for slowdown in sorted({t.slowdown for t in trials if t.frames == frames and t.slowdown > 0}):
            runs = [t for t in trials if t.frames == frames and t.slowdown == slowdown]
            lines.append(
                f"| {frames} | {slowdown:.0%} | {sum(t.verdict == regression for t in runs)} of {len(runs)} "
                f"| x{statistics.median(t.ratio for t in runs):.3f} "
                f"| {statistics.median(t.tolerance for t in runs):.0%} |"
            )
    return lines


def run_trials(
    runtime: Runtime,
    keys: Sequence[CaseKey],
    policy: RoundPolicy,
    aa: int,
    slowdowns: Sequence[float],
    repeats: int,
    settle: int = 1,
    save: Callable[[list[dict[str, Any]], list[Trial]], None] = lambda baselines, trials: None,
) -> tuple[list[dict[str, Any]], list[Trial]]:
    """Per case: `settle` measurements thrown away, the baseline, then the A/A and slowed-down trials; returns the
    baselines and trials. Settling puts the baseline where the trials are, past the process's first measurement:
    on the lent H100 that one ran 21 % slower at 8 frames than the twenty after it (a real gate's baseline and run
    both start cold, at the same place in the case order). `save` gets everything so far after each trial, so a run
    cut short keeps what it measured."""
    baselines, trials = [], []
    for key in keys:
        workload, backend = WORKLOADS[key.workload], BACKENDS[key.backend]
        for _ in range(settle):
            _measured(key, workload, backend, runtime, policy)
        base = _measured(key, workload, backend, runtime, policy)
        assert base.timing is not None  # _measured raises otherwise
        entry = new_entry(
            key,
            base.dtype,
            base.timing,
            base.memory,
            base.evidence,
            least_time_tolerance=DEFAULT_TIME_TOLERANCE,
            memory_tolerance=DEFAULT_MEMORY_TOLERANCE,
            regimes=workload.regimes,
        )
        suspect = base.clocks.suspect
        if suspect:
            print(f"gate trials: the baseline of {key.case_id} is suspect: {suspect}", file=sys.stderr)
        samples = list(base.timing.samples_s)
        baselines.append(
            {"case_id": key.case_id, "samples_s": samples, "tolerance": entry.time_tolerance, "suspect": suspect}
        )
        for _ in range(aa):
            trials.append(trial(_measured(key, workload, backend, runtime, policy), entry, key.frames, 0.0, 0.0))
            save(baselines, trials)
        for slowdown in slowdowns:
            work, added_s = calibrated_work(runtime.device, slowdown * base.timing.median_s)
            slower = slowed_down(workload, work)
            for _ in range(repeats):
                measured = _measured(key, slower, backend, runtime, policy)
                trials.append(trial(measured, entry, key.frames, slowdown, added_s))
                save(baselines, trials)
    return baselines, trials


def _measured(key: CaseKey, workload: Workload, backend: Backend, runtime: Runtime, policy: RoundPolicy) -> CaseResult:
    result = measure_case(key, workload, backend, RoundsFixture(), runtime, policy)
    if result.outcome is not Outcome.OK or result.timing is None:
        raise TrialError(f"{key.case_id}: {result.outcome.value}: {result.reason}")
    return result


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m perf.tools.gate_trials", description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="vggt-aggregator", choices=sorted(WORKLOADS))
    parser.add_argument("--backend", default="sdpa-default", choices=sorted(BACKENDS))
    parser.add_argument("--frames", type=list_of(positive_int), default=(1, 8, 20))
    parser.add_argument("--resolution", type=Resolution.parse, default=README_RESOLUTION)
    parser.add_argument("--aa", type=positive_int, default=20, help="A/A trials per case. Default: 20.")
    parser.add_argument("--slowdowns", type=list_of(_slowdown), default=(0.02, 0.03, 0.05, 0.10))
    parser.add_argument("--repeats", type=positive_int, default=10, help="trials per slowdown. Default: 10.")
    parser.add_argument(
        "--settle", type=count, default=1, help="measurements thrown away before each baseline. Default: 1."
    )
    parser.add_argument("--max-time", type=seconds, default=RoundPolicy.max_time_s)
    parser.add_argument("--precision", type=fraction, default=RoundPolicy.precision)
    parser.add_argument(
        "--vggt-revision", default="", help="the vggt commit to record, as pytest's option of that name"
    )
    parser.add_argument("--out", type=Path, required=True, help="JSON file for every trial (overwritten)")
    return parser.parse_args(argv)


def _slowdown(text: str) -> float:
    """A fraction above 0: a slowdown of 0 would be an A/A trial counted as a sensitivity one."""
    value = fraction(text)
    if value <= 0:
        raise ValueError(f"slowdown {text!r} is not above 0 (the A/A trials are --aa)")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    device = select_device()
    runtime = Runtime(device, VggtModels(device, None))
    policy = RoundPolicy(max_time_s=arguments.max_time, precision=arguments.precision)
    keys = [CaseKey(arguments.workload, arguments.backend, frames, arguments.resolution) for frames in arguments.frames]
    command = " ".join(["python -m perf.tools.gate_trials", *(sys.argv[1:] if argv is None else argv)])
    environment = fingerprint(device, arguments.vggt_revision or vggt_revision())

    def save(baselines: list[dict[str, Any]], trials: list[Trial]) -> None:
        document = {
            "command": command,
            "environment": environment,
            "policy": dataclasses.asdict(policy),
            "baselines": baselines,
            "trials": [dataclasses.asdict(t) for t in trials],
        }
        write_text_atomically(arguments.out, json.dumps(document, indent=1) + "\n")  # a kill leaves the last save

    try:
        save([], [])  # at once: an unwritable --out is found before minutes of trials, and no old file looks current
        _, trials = run_trials(
            runtime, keys, policy, arguments.aa, arguments.slowdowns, arguments.repeats, arguments.settle, save
        )
    except TrialError as error:
        print(f"gate trials stopped: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"gate trials stopped: --out {arguments.out} cannot be written ({error})", file=sys.stderr)
        return 2
    print("\n".join(tables(trials)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
