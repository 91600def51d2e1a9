"""A/A and sensitivity trials of the gate, in one process: how often it cries wolf, and which slowdowns it catches.

    python -m perf.tools.gate_trials --frames 1,8,20 --aa 20 --slowdowns 0.02,0.03,0.05,0.1 --repeats 10 \
        --out trials.json

For trials across processes (docs/gate-trials.md), run it once per process with --settle 0 --aa 0 --repeats 1:
each case's "baseline" is then that process's first measurement of it, what a gate run sees, and --case and
--slowed pick the cases and which of them get slowed down (perf.tools.process_trials pools many such files).

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
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from perf.backends.protocol import Backend
from perf.backends.registry import BACKENDS
from perf.core.arguments import count, fraction, list_of, positive_int, seconds
from perf.core.baselines import BaselineEntry
from perf.core.catalog import README_RESOLUTION, parse_case_id
from perf.core.results import CaseKey, CaseResult, Outcome, Resolution
from perf.core.tolerance import DEFAULT_MEMORY_TOLERANCE, DEFAULT_TIME_TOLERANCE, new_entry
from perf.hardware.device import select_device
from perf.hardware.fingerprint import fingerprint, vggt_revision
from perf.measure.case import measure_case
from perf.measure.timing import RoundPolicy
from perf.storage.atomic import write_text_atomically
from perf.tools.rounds_fixture import RoundsFixture
from perf.tools.slowdown import calibrated_work, slowed_down
from perf.tools.trial_tables import Trial, TrialError, tables, trial
from perf.workloads.registry import WORKLOADS, Workload
from perf.workloads.runtime import Runtime
from perf.workloads.vggt import VggtModels


def run_trials(
    runtime: Runtime,
    keys: Sequence[CaseKey],
    policy: RoundPolicy,
    aa: int,
    slowdowns: Sequence[float],
    repeats: int,
    settle: int = 1,
    save: Callable[[list[dict[str, Any]], list[Trial]], None] = lambda baselines, trials: None,
    slowed: Callable[[CaseKey], bool] = lambda key: True,
) -> tuple[list[dict[str, Any]], list[Trial]]:
    """Per case: `settle` measurements thrown away, the baseline, then the A/A and slowed-down trials; returns the
    baselines and trials (slowdowns only for the cases `slowed` names). Settling puts the baseline where the trials
    are, past the process's first measurement: on the lent H100 that one ran 21 % slower at 8 frames than the twenty
    after it (a real gate's baseline and run both start cold, at the same place in the case order). `save` gets
    everything so far after each baseline and trial, so a run cut short keeps what it measured."""
    baselines: list[dict[str, Any]] = []
    trials: list[Trial] = []
    for key in keys:
        workload, backend = WORKLOADS[key.workload], BACKENDS[key.backend]
        for _ in range(settle):
            _measured(key, workload, backend, runtime, policy)
        base = _measured(key, workload, backend, runtime, policy)
        entry = _baseline_entry(base, workload)
        baselines.append(
            {
                "case_id": key.case_id,
                "median_s": entry.timing.median_s,
                "samples_s": list(entry.timing.samples_s),
                "sm_clock_mean_mhz": base.clocks.sm_clock_mean_mhz,
                "peak_memory_bytes": base.memory.peak_allocated_bytes if base.memory else None,
                "tolerance": entry.time_tolerance,
                "suspect": base.clocks.suspect,
            }
        )
        save(baselines, trials)  # a case without trials is kept too (the model with --aa 0 was lost before this)
        for _ in range(aa):
            trials.append(trial(_measured(key, workload, backend, runtime, policy), entry, key.frames, 0.0, 0.0))
            save(baselines, trials)
        for slowdown in slowdowns if slowed(key) else ():
            work, added_s = calibrated_work(runtime.device, slowdown * entry.timing.median_s)
            slower = slowed_down(workload, work)
            for _ in range(repeats):
                measured = _measured(key, slower, backend, runtime, policy)
                trials.append(trial(measured, entry, key.frames, slowdown, added_s))
                save(baselines, trials)
    return baselines, trials


def _baseline_entry(base: CaseResult, workload: Workload) -> BaselineEntry:
    """The entry an update would write of this measurement; a suspect one is reported, not refused: the trials
    measure the gate, whatever the GPU's state."""
    assert base.timing is not None  # _measured raises otherwise
    if base.clocks.suspect:
        print(f"gate trials: the baseline of {base.key.case_id} is suspect: {base.clocks.suspect}", file=sys.stderr)
    return new_entry(
        base.key,
        base.dtype,
        base.timing,
        base.memory,
        base.evidence,
        least_time_tolerance=DEFAULT_TIME_TOLERANCE,
        memory_tolerance=DEFAULT_MEMORY_TOLERANCE,
        regimes=workload.regimes,
    )


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
    parser.add_argument(
        "--case",
        type=parse_case_id,
        action="append",
        default=[],
        metavar="CASE_ID",
        help="a case to try, in this order (repeat); replaces --workload, --backend, --frames and --resolution",
    )
    parser.add_argument(
        "--slowed",
        type=parse_case_id,
        action="append",
        default=[],
        metavar="CASE_ID",
        help="a case that gets the slowdowns (repeat). Default: every case",
    )
    parser.add_argument("--aa", type=count, default=20, help="A/A trials per case. Default: 20.")
    parser.add_argument("--slowdowns", type=list_of(_slowdown), default=(0.02, 0.03, 0.05, 0.10))
    parser.add_argument("--repeats", type=positive_int, default=10, help="trials per slowdown. Default: 10.")
    parser.add_argument(
        "--settle", type=count, default=1, help="measurements thrown away before each baseline. Default: 1."
    )
    parser.add_argument("--warmup-time", type=seconds, default=RoundPolicy.warmup_s, help="as pytest's option")
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
    policy = RoundPolicy(arguments.warmup_time, arguments.max_time, precision=arguments.precision)
    keys = arguments.case or [
        CaseKey(arguments.workload, arguments.backend, frames, arguments.resolution) for frames in arguments.frames
    ]
    slowed = set(arguments.slowed)
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
            runtime,
            keys,
            policy,
            arguments.aa,
            arguments.slowdowns,
            arguments.repeats,
            arguments.settle,
            save,
            lambda key: not slowed or key in slowed,
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
