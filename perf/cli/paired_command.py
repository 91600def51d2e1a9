"""`python -m perf paired`: its options, and the run handed to perf.paired.driver (imported only when asked for:
the driver imports torch, and the other commands must start without it)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from perf.core.arguments import fraction, positive_int, seconds
from perf.core.catalog import parse_case_id
from perf.core.results import CaseKey
from perf.core.tolerance import DEFAULT_TIME_TOLERANCE
from perf.paired import request as defaults
from perf.paired.request import PairedRequest, WorkerSpec

HELP = (
    "the paired A/B gate for a pull request that changes vggt, torch or an attention library: BASE and HEAD timed in "
    "one job by worker processes (--workers per side), their rounds interleaved ABBA, head judged against base as "
    "the gate judges a run against its baseline entry (docs/paired.md). Exit 0: no case regressed; 1: one did; "
    "2: a usage error or a worker failed"
)


def add_parser(commands: argparse._SubParsersAction[Any]) -> None:
    paired = commands.add_parser("paired", help=HELP.split(": BASE")[0], description=HELP)
    paired.add_argument(
        "--case",
        type=_case,
        action="append",
        required=True,
        metavar="CASE_ID",
        help="a case to compare, e.g. vggt-aggregator-sdpa-default-20f-350x518; repeat for more (run in this order)",
    )
    for side in ("base", "head"):
        paired.add_argument(
            f"--{side}-python",
            default=sys.executable,
            metavar="PYTHON",
            help=f"the {side} worker's interpreter. Default: this one ({sys.executable})",
        )
        paired.add_argument(
            f"--{side}-path",
            type=Path,
            action="append",
            default=[],
            metavar="DIR",
            help=f"a folder put first on the {side} worker's PYTHONPATH (a checkout of vggt); repeat for more. "
            "Default: none",
        )
    _add_rounds(paired)
    paired.add_argument(
        "--time-tolerance",
        type=fraction,
        default=DEFAULT_TIME_TOLERANCE,
        help="least slowdown of head against base that regresses, widened by base's noise and the workload's "
        f"regimes as the gate widens a baseline entry's. Default: {DEFAULT_TIME_TOLERANCE}.",
    )
    paired.add_argument(
        "--json",
        type=Path,
        metavar="OUT",
        help="write every round of both sides, both environments and the verdicts here (atomically). Default: none",
    )
    paired.add_argument(
        "--head-slowdown",
        type=fraction,
        default=0.0,
        metavar="FRACTION",
        help="a trial tool, never for a pull request: each head worker adds this fraction of its own forward's time "
        "in real GPU work (matrix products) to each forward, to show which slowdown the paired gate catches. "
        "Default: 0.",
    )


def _add_rounds(paired: argparse.ArgumentParser) -> None:
    paired.add_argument(
        "--workers",
        type=positive_int,
        default=defaults.DEFAULT_WORKERS,
        metavar="N",
        help="worker processes per side, all started at once; rounds go round-robin over the base/head pairs and each "
        "side is judged by the median of its workers' medians, since every process carries an offset of its own. "
        f"Default: {defaults.DEFAULT_WORKERS}.",
    )
    paired.add_argument(
        "--min-rounds",
        type=positive_int,
        default=defaults.DEFAULT_MIN_ROUNDS,
        help=f"timed rounds per worker at least. Default: {defaults.DEFAULT_MIN_ROUNDS}.",
    )
    paired.add_argument(
        "--max-rounds",
        type=positive_int,
        default=defaults.DEFAULT_MAX_ROUNDS,
        help="timed rounds per side (all its workers) at most (--min-rounds per worker wins). "
        f"Default: {defaults.DEFAULT_MAX_ROUNDS}.",
    )
    paired.add_argument(
        "--max-time",
        type=seconds,
        default=defaults.DEFAULT_MAX_TIME_S,
        help="seconds of timed rounds per side (all its workers) after which they stop short of --precision. "
        f"Default: {defaults.DEFAULT_MAX_TIME_S:g}.",
    )
    paired.add_argument(
        "--precision",
        type=fraction,
        default=defaults.DEFAULT_PRECISION,
        help="a side's rounds (all its workers') may end once their median's 95%% interval lies within +-this "
        f"fraction of it. Default: {defaults.DEFAULT_PRECISION}, as pytest's --precision.",
    )
    paired.add_argument(
        "--warmup-time",
        type=seconds,
        default=defaults.DEFAULT_WARMUP_S,
        help=f"seconds each side warms up for before its rounds. Default: {defaults.DEFAULT_WARMUP_S}.",
    )


def _case(text: str) -> CaseKey:
    try:
        return parse_case_id(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """The request the options make, run: 0 when no case regressed, 1 when one did, 2 when a worker failed."""
    from perf.paired.driver import run_paired

    request = PairedRequest(
        cases=tuple(args.case),
        base=WorkerSpec(args.base_python, tuple(args.base_path)),
        head=WorkerSpec(args.head_python, tuple(args.head_path)),
        workers=args.workers,
        min_rounds=args.min_rounds,
        max_rounds=args.max_rounds,
        max_time_s=args.max_time,
        warmup_s=args.warmup_time,
        precision=args.precision,
        time_tolerance=args.time_tolerance,
        head_slowdown=args.head_slowdown,
        json_path=args.json,
        command=" ".join(["python -m perf", *argv]),
    )
    return run_paired(request)
