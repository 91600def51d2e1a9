"""`python -m perf baseline show|diff|prune|update|retolerate`: thin commands over the files in baselines/.

They read names from the catalog (perf.core.catalog), never the registries, so they import neither torch nor pytest
and run on any machine.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from perf.core.baselines import Baseline, BaselineError
from perf.core.catalog import BACKEND_NAMES, WORKLOADS, workload_regimes
from perf.core.conversion import convert_runs, device_of, update_command
from perf.core.tolerance import retolerated
from perf.report.baselines import entries_to_prune, render_diff, render_removals, render_show
from perf.report.conversion import render_conversion
from perf.storage.baseline_file import load_baseline, remove_entries, rewrite, update_baseline
from perf.storage.baseline_schema import render_baseline_schema
from perf.storage.benchmark_json import read_benchmark_json


def load(path: Path) -> Baseline:
    baseline = load_baseline(path)
    if baseline is None:
        raise BaselineError(f"{path}: no such baseline file; check the path")
    return baseline


def show(args: argparse.Namespace) -> list[str]:
    return render_show(load(args.file), str(args.file))


def diff(args: argparse.Namespace) -> list[str]:
    return render_diff(load(args.a), load(args.b), str(args.a), str(args.b))


def prune(args: argparse.Namespace) -> list[str]:
    baseline = load(args.file)
    removals = entries_to_prune(baseline, WORKLOADS, BACKEND_NAMES)
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


def update(args: argparse.Namespace) -> list[str]:
    files = [read_benchmark_json(path) for path in args.from_json]
    device = device_of(files)
    target = args.file / f"{device['slug']}.json" if args.file.is_dir() else args.file
    existing = load_baseline(target)
    if existing is not None and existing.device.get("slug") != device["slug"]:
        raise BaselineError(
            f"{target}: holds device {existing.device.get('slug')!r}, the benchmarks measured {device['slug']!r}; "
            f"name that device's own file, e.g. baselines/{device['slug']}.json (nothing was written)"
        )
    command = update_command(args.from_json)
    conversion = convert_runs(
        files, command, workload_regimes(), args.time_tolerance, args.memory_tolerance, args.min_runs
    )
    lines = render_conversion(conversion)
    if not conversion.entries:
        return [*lines, f"nothing written to {target}: no benchmark qualifies (see why above); file unchanged"]
    result = update_baseline(target, device, conversion.entries, conversion.run.measured_at, conversion.run)
    runs = f"{len(files)} process{'es' if len(files) > 1 else ''}"
    held = f"it holds {len(result.entries)} entries of {len(result.runs)} runs"
    return [*lines, f"wrote {len(conversion.entries)} entries pooled from {runs} to {target}; {held}"]


def retolerate(args: argparse.Namespace) -> list[str]:
    regimes = workload_regimes()
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

    load(args.file)  # a missing or malformed file is refused before its lock file is made
    total = len(rewrite(args.file, change).entries)
    kept = [f"{len(unregistered)} entries of unregistered workloads keep theirs (see prune)"] if unregistered else []
    if not changes:
        return [f"{args.file}: every entry's time tolerance already follows the current policy; file unchanged", *kept]
    if args.dry_run:
        return [*changes, *kept, f"dry run: {len(changes)} of {total} tolerances would change; file unchanged"]
    return [*changes, *kept, f"recomputed {len(changes)} of {total} time tolerances in {args.file}"]


def schema(_: argparse.Namespace) -> list[str]:
    """The baseline file's JSON Schema, as docs/baseline.schema.json holds it."""
    return [render_baseline_schema().rstrip("\n")]
