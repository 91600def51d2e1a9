"""`python -m perf …`: thin commands over the functions the pytest plugin uses."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from perf.core.arguments import fraction
from perf.core.baselines import Baseline, BaselineError
from perf.core.tolerance import DEFAULT_MEMORY_TOLERANCE, DEFAULT_TIME_TOLERANCE, Regime, retolerated
from perf.report.baselines import entries_to_prune, render_diff, render_removals, render_show
from perf.report.verdicts import render_table
from perf.storage.baseline_file import load_baseline, remove_entries, rewrite, update_baseline

# The torch-dependent modules (registries, device) are imported inside the commands that need them, so the
# baseline commands that only read files (show, diff) start without torch and run on any machine.


def backends_table() -> list[str]:
    """Every registered backend on this machine's device: library, version, whether it runs and why not."""
    from perf.backends.registry import BACKENDS
    from perf.hardware.device import reduced_precision, select_device
    from perf.hardware.fingerprint import describe_device

    device = select_device()
    dtype = reduced_precision(device)
    rows = []
    for backend in BACKENDS.values():
        reason = backend.unavailable_reason(device, dtype)
        rows.append(
            (
                backend.name,
                backend.distribution,
                backend.version() or "-",
                "unavailable" if reason else "available",
                reason or "",
            )
        )
    header = f"attention backends on {describe_device(device)['name']} ({device.type}, {dtype})"
    return [header, *render_table(("backend", "library", "version", "status", "reason"), rows)]


def _load(path: Path) -> Baseline:
    baseline = load_baseline(path)
    if baseline is None:
        raise BaselineError(f"{path}: no such baseline file; check the path")
    return baseline


def _show(args: argparse.Namespace) -> list[str]:
    return render_show(_load(args.file), str(args.file))


def _diff(args: argparse.Namespace) -> list[str]:
    return render_diff(_load(args.a), _load(args.b), str(args.a), str(args.b))


def _prune(args: argparse.Namespace) -> list[str]:
    from perf.backends.registry import BACKENDS
    from perf.workloads.registry import WORKLOADS

    baseline = _load(args.file)
    removals = entries_to_prune(baseline, WORKLOADS, BACKENDS)
    if not removals:
        return [f"{args.file}: every entry's workload and backend is registered; nothing to remove"]
    listing = render_removals(removals)
    if args.dry_run:
        return [
            *listing,
            f"dry run: {len(removals)} of {len(baseline.entries)} entries would be removed; file unchanged",
        ]
    pruned = remove_entries(args.file, [removal.case_id for removal in removals])
    kept = f"{len(pruned.entries)} entries and {len(pruned.runs)} runs kept"
    return [*listing, f"removed {len(removals)} entries from {args.file}; {kept}"]


def _update(args: argparse.Namespace) -> list[str]:
    from perf.storage.benchmark_json import convert, device_of, read_benchmark_json, render_conversion, update_command

    files = [read_benchmark_json(path) for path in args.from_json]
    device = device_of(files)
    existing = load_baseline(args.file)
    if existing is not None and existing.device.get("slug") != device["slug"]:
        raise BaselineError(
            f"{args.file}: holds device {existing.device.get('slug')!r}, the benchmarks measured {device['slug']!r}; "
            f"name that device's own file, e.g. baselines/{device['slug']}.json (nothing was written)"
        )
    regimes = _workload_regimes()
    command = update_command(args.from_json)
    lines: list[str] = []
    written, result = 0, existing
    # One run per file, as each file's pytest session would have written it; a case in two files: the later wins.
    for file in files:
        conversion = convert(file, command, regimes, args.time_tolerance, args.memory_tolerance)
        lines += render_conversion(conversion)
        if conversion.entries:
            result = update_baseline(args.file, device, conversion.entries, file.measured_at, conversion.run)
            written += len(conversion.entries)
    if not written or result is None:
        return [*lines, f"nothing written to {args.file}: no benchmark qualifies (see why above); file unchanged"]
    held = f"it holds {len(result.entries)} entries of {len(result.runs)} runs"
    return [*lines, f"wrote {written} entries to {args.file}; {held}"]


def _workload_regimes() -> dict[str, tuple[Regime, ...]]:
    """Each registered workload's regimes (perf.core.stats), as the tolerance policy needs them."""
    from perf.workloads.registry import WORKLOADS  # here, not at import: show and diff must start without torch

    return {name: workload.regimes for name, workload in WORKLOADS.items()}


def _retolerate(args: argparse.Namespace) -> list[str]:
    regimes = _workload_regimes()
    changes: list[str] = []
    unregistered: list[str] = []

    def change(current: Baseline) -> Baseline:
        """Lists what changes from the file as read under the lock; a dry run returns it unchanged (no write)."""
        changed = retolerated(current, regimes, args.time_tolerance)
        changes[:] = [
            f"{case_id}: time tolerance +{entry.time_tolerance:.0%} -> +{changed.entries[case_id].time_tolerance:.0%}"
            for case_id, entry in sorted(current.entries.items())
            if changed.entries[case_id].time_tolerance != entry.time_tolerance
        ]
        unregistered[:] = [case_id for case_id, entry in current.entries.items() if entry.key.workload not in regimes]
        return current if args.dry_run else changed

    _load(args.file)  # a missing or malformed file is refused before its lock file is made
    total = len(rewrite(args.file, change).entries)
    kept = [f"{len(unregistered)} entries of unregistered workloads keep theirs (see prune)"] if unregistered else []
    if not changes:
        return [f"{args.file}: every entry's time tolerance already follows the current policy; file unchanged", *kept]
    if args.dry_run:
        return [*changes, *kept, f"dry run: {len(changes)} of {total} tolerances would change; file unchanged"]
    return [*changes, *kept, f"recomputed {len(changes)} of {total} time tolerances in {args.file}"]


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
        run=lambda _: backends_table()
    )
    baseline = commands.add_parser("baseline", help="show, compare, prune and update baseline files (baselines/*.json)")
    actions = baseline.add_subparsers(dest="action", required=True)
    show = actions.add_parser("show", help="every entry of a baseline file, its runs and its device")
    show.add_argument("file", type=Path, help="a baseline file, e.g. baselines/nvidia-h100-80gb-hbm3.json")
    show.set_defaults(run=_show)
    diff = actions.add_parser("diff", help="two baseline files side by side: medians, B/A, peak memory, environment")
    diff.add_argument("a", type=Path, help="baseline file A")
    diff.add_argument("b", type=Path, help="baseline file B (ratios are B/A)")
    diff.set_defaults(run=_diff)
    prune = actions.add_parser("prune", help=_PRUNE_HELP, description=_PRUNE_HELP)
    prune.add_argument("file", type=Path, help="the baseline file to prune (written atomically, under its lock)")
    prune.add_argument("--dry-run", action="store_true", help="list what would be removed, write nothing")
    prune.set_defaults(run=_prune)
    _add_update(actions)
    retolerate = actions.add_parser("retolerate", help=_RETOLERATE_HELP, description=_RETOLERATE_HELP)
    retolerate.add_argument("file", type=Path, help="the baseline file (written atomically, under its lock)")
    retolerate.add_argument("--time-tolerance", type=fraction, default=DEFAULT_TIME_TOLERANCE, help=_LEAST_HELP)
    retolerate.add_argument("--dry-run", action="store_true", help="list what would change, write nothing")
    retolerate.set_defaults(run=_retolerate)
    return parser


_RETOLERATE_HELP = (
    "recompute each entry's time tolerance from its own recorded rounds under this version's policy (after the "
    "policy changed); timings, memory and runs are kept. A tolerance edited by hand or recorded with another "
    "--time-tolerance is replaced too: every change is listed, so run --dry-run first"
)
_LEAST_HELP = (
    f"least slowdown recorded as an entry's tolerance, widened by its noise. Default: {DEFAULT_TIME_TOLERANCE}."
)


_UPDATE_HELP = (
    "merge the benchmarks of pytest --benchmark-json files into a baseline file, as --update-baselines does: "
    "only cases measured with their own backend (outcome ok, no --substitute-backend) become entries"
)


def _add_update(actions: argparse._SubParsersAction[_Parser]) -> None:
    update = actions.add_parser("update", help=_UPDATE_HELP, description=_UPDATE_HELP)
    update.add_argument(
        "--from-json",
        type=Path,
        action="append",
        required=True,
        metavar="BENCH.json",
        help="a file written by this suite's pytest --benchmark-json; repeat for more (one run each, in order)",
    )
    update.add_argument("file", type=Path, help="the baseline file to update (written atomically, under its lock)")
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
    update.set_defaults(run=_update)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        lines = args.run(args)
    except BaselineError as error:
        print(error, file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0
