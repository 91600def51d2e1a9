"""`python -m perf …`: thin commands over the functions the pytest plugin uses."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from perf.cli import baseline_commands, paired_command
from perf.core.arguments import fraction, positive_int
from perf.core.baselines import BaselineError
from perf.core.conversion import DEFAULT_MIN_RUNS
from perf.core.tolerance import DEFAULT_MEMORY_TOLERANCE, DEFAULT_TIME_TOLERANCE


def _backends(_: argparse.Namespace) -> list[str]:
    """Imported only when asked for: the other commands must start without torch."""
    from perf.cli.backends_command import backends_table

    return backends_table()


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line with exit 2, like the commands' own errors."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


_PRUNE_HELP = (
    "remove the entries whose workload or backend is no longer registered: no test produces them any more. "
    "Entries at frame counts or resolutions outside the full profile are kept: --frames and --resolution still "
    "measure them"
)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m perf", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("backends", help="list the attention backends with their status on this machine").set_defaults(
        run=_backends
    )
    baseline = commands.add_parser("baseline", help="show, compare, prune and update baseline files (baselines/*.json)")
    actions = baseline.add_subparsers(dest="action", required=True)
    show = actions.add_parser("show", help="every entry of a baseline file, its runs and its device")
    show.add_argument("file", type=Path, help="a baseline file, e.g. baselines/nvidia-h100-80gb-hbm3.json")
    show.set_defaults(run=baseline_commands.show)
    diff = actions.add_parser("diff", help="two baseline files side by side: medians, B/A, peak memory, environment")
    diff.add_argument("a", type=Path, help="baseline file A")
    diff.add_argument("b", type=Path, help="baseline file B (ratios are B/A)")
    diff.set_defaults(run=baseline_commands.diff)
    prune = actions.add_parser("prune", help=_PRUNE_HELP, description=_PRUNE_HELP)
    prune.add_argument("file", type=Path, help="the baseline file to prune (written atomically, under its lock)")
    prune.add_argument("--dry-run", action="store_true", help="list what would be removed, write nothing")
    prune.set_defaults(run=baseline_commands.prune)
    _add_update(actions)
    retolerate = actions.add_parser("retolerate", help=_RETOLERATE_HELP, description=_RETOLERATE_HELP)
    retolerate.add_argument("file", type=Path, help="the baseline file (written atomically, under its lock)")
    retolerate.add_argument("--time-tolerance", type=fraction, default=DEFAULT_TIME_TOLERANCE, help=_LEAST_HELP)
    retolerate.add_argument("--dry-run", action="store_true", help="list what would change, write nothing")
    retolerate.set_defaults(run=baseline_commands.retolerate)
    schema = actions.add_parser("schema", help=_SCHEMA_HELP, description=_SCHEMA_HELP)
    schema.set_defaults(run=baseline_commands.schema)
    paired_command.add_parser(commands)
    return parser


_SCHEMA_HELP = (
    "print the JSON Schema (draft 2020-12) of a baseline file, generated from the codec's field table; "
    "docs/baseline.schema.json is its output"
)
_RETOLERATE_HELP = (
    "recompute each entry's time tolerance from its own recorded rounds under this version's policy (after the "
    "policy changed); timings, memory and runs are kept. A tolerance edited by hand or recorded with another "
    "--time-tolerance is replaced too: every change is listed, so run --dry-run first"
)
_LEAST_HELP = (
    f"least slowdown recorded as an entry's tolerance, widened by its noise. Default: {DEFAULT_TIME_TOLERANCE}."
)


_UPDATE_HELP = (
    "merge the benchmarks of pytest --benchmark-json files, each from its own process, into a baseline file: each "
    "case measured in at least --min-runs of them becomes one entry pooling those processes; only cases measured "
    "with their own backend (outcome ok, no --substitute-backend) count"
)


def _add_update(actions: argparse._SubParsersAction[_Parser]) -> None:
    update = actions.add_parser("update", help=_UPDATE_HELP, description=_UPDATE_HELP)
    update.add_argument(
        "--from-json",
        type=Path,
        action="append",
        required=True,
        metavar="BENCH.json",
        help="a file written by this suite's pytest --benchmark-json in one process; repeat for the others (one "
        "independent process each, in the order they ran)",
    )
    update.add_argument(
        "file",
        type=Path,
        help="the baseline file to update (written atomically, under its lock), or a folder: its <device slug>.json",
    )
    update.add_argument(
        "--min-runs",
        type=positive_int,
        default=DEFAULT_MIN_RUNS,
        help="the fewest --from-json files (independent processes) a case must be measured in to become an entry; "
        "its entry pools them and its tolerance covers their spread. 1 writes single-process entries. "
        f"Default: {DEFAULT_MIN_RUNS}.",
    )
    update.add_argument(
        "--time-tolerance",
        type=fraction,
        default=DEFAULT_TIME_TOLERANCE,
        help=_LEAST_HELP,
    )
    update.add_argument(
        "--memory-tolerance",
        type=fraction,
        default=DEFAULT_MEMORY_TOLERANCE,
        help=f"peak-memory growth recorded as an entry's tolerance. Default: {DEFAULT_MEMORY_TOLERANCE}.",
    )
    update.set_defaults(run=baseline_commands.update)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(arguments)
    if args.command == "paired":  # answers an exit code of its own: 1 for a regression
        return paired_command.run(args, arguments)
    try:
        lines = args.run(args)
    except BaselineError as error:
        print(error, file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0
