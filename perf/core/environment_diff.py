"""Which environment fields of a baseline's runs differ from this run's: pure, no torch, no files."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from perf.core.baselines import Baseline

# Recorded in every run, never compared. pytest-benchmark only calls the suite's own timed function (pedantic
# mode: one synchronized forward per round, rounds and warm-up chosen by perf.measure.timing), so its version moves a
# round by microseconds against forwards of tens of milliseconds; a test-dependency upgrade is no reason to
# distrust a verdict, nor to stop a --strict-env gate.
IGNORED_FIELDS = frozenset({"pytest-benchmark"})
# --vggt-revision records what the user passes (often a bare commit); an install from git records
# "<version> <commit>" (perf.hardware.fingerprint.vggt_revision). Values naming one commit are one vggt.
_VGGT_FIELD = "vggt"
_COMMIT = re.compile(r"(?<![0-9a-f])[0-9a-f]{7,40}(?![0-9a-f])")  # also inside "0.0.1+g44b3afb"
# The suite's own field ("<version> <commit>", perf.hardware.fingerprint.suite_revision): every pull request has its
# own commit, so only the version is compared; a change of methodology that moves times bumps it (CHANGELOG.md).
_SUITE_FIELD = "vggt-perf"
_RUNS_NAMED = 2  # more runs with the same differences are named by their first and last


class FieldDifference(NamedTuple):
    field: str
    baseline: str
    run: str


@dataclass(frozen=True)
class EnvironmentDrift:
    """Baseline runs whose environment differs from this run's by the same fields and values."""

    run_ids: tuple[str, ...]  # oldest first
    entries: int  # of this session's cases, how many entries these runs wrote
    differences: tuple[FieldDifference, ...]


def _same_value(field: str, baseline: str, run: str) -> bool:
    if baseline == run:
        return True
    if field == _SUITE_FIELD:
        return baseline.split()[0] == run.split()[0]
    if field != _VGGT_FIELD:
        return False
    commits = _COMMIT.findall(baseline.lower()), _COMMIT.findall(run.lower())
    return any(a.startswith(b) or b.startswith(a) for a in commits[0] for b in commits[1])


def environment_differences(
    baseline_env: Mapping[str, str], run_env: Mapping[str, str], ignore: Collection[str] = IGNORED_FIELDS
) -> list[FieldDifference]:
    """The fields whose values differ, sorted by name; only fields both sides record with a value are compared.

    '' means unknown or absent (no NVML, a CPU run's driver, a library not installed): no verdict rests on it,
    since a backend without its library is skipped and a baseline without it has no entries of that backend.
    A field one side lacks is not compared either: a baseline written before a field existed stays comparable.
    """
    shared = sorted((baseline_env.keys() & run_env.keys()) - set(ignore))
    return [
        FieldDifference(field, baseline_env[field], run_env[field])
        for field in shared
        if baseline_env[field] and run_env[field] and not _same_value(field, baseline_env[field], run_env[field])
    ]


def environment_drift(
    baseline: Baseline, case_ids: Iterable[str], run_env: Mapping[str, str], ignore: Collection[str] = IGNORED_FIELDS
) -> list[EnvironmentDrift]:
    """How the runs that wrote the entries of these cases (those the session's verdicts compare with) differ.

    Runs with the same differences form one drift; runs that differ in nothing are left out.
    """
    entries_by_run = Counter(baseline.entries[c].run for c in set(case_ids) if c in baseline.entries)
    ordered = sorted(entries_by_run, key=lambda run_id: (baseline.runs[run_id].measured_at, run_id))
    groups: dict[tuple[FieldDifference, ...], list[str]] = {}
    for run_id in ordered:
        differences = tuple(environment_differences(baseline.runs[run_id].environment, run_env, ignore))
        if differences:
            groups.setdefault(differences, []).append(run_id)
    return [
        EnvironmentDrift(tuple(run_ids), sum(entries_by_run[r] for r in run_ids), differences)
        for differences, run_ids in groups.items()
    ]


def describe_drift(drift: EnvironmentDrift) -> str:
    """'baseline run R (3 compared entries): torch 2.11.0 -> 2.12.0; driver 580.159.04 -> 590.10'."""
    ids = drift.run_ids
    if len(ids) == 1:
        runs = f"run {ids[0]}"
    elif len(ids) <= _RUNS_NAMED:
        runs = f"runs {', '.join(ids)}"
    else:
        runs = f"{len(ids)} runs, {ids[0]} … {ids[-1]}"
    fields = "; ".join(f"{d.field} {d.baseline} -> {d.run}" for d in drift.differences)
    entries = f"{drift.entries} compared {'entry' if drift.entries == 1 else 'entries'}"
    return f"baseline {runs} ({entries}): {fields}"


def strict_env_error(path: Path, drifts: Iterable[EnvironmentDrift]) -> str:
    """The one line --strict-env stops the session with."""
    described = " | ".join(describe_drift(drift) for drift in drifts)
    return (
        f"{path}: this run's environment differs from {described} (--strict-env: record a baseline "
        "in this environment with --update-baselines, or run without --strict-env to compare anyway)"
    )
