"""What `python -m perf baseline show|diff|prune` says about baseline files: rows and choices, no I/O, no torch."""

from __future__ import annotations

import enum
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from perf.core.baselines import Baseline, BaselineEntry, RunInfo
from perf.core.results import CaseKey, Resolution
from perf.core.stats import between_run_spread
from perf.report.verdicts import render_table

GIB = 2**30
KERNEL_WIDTH = 40  # profiler kernel names run past 100 characters; the start tells cuDNN, flash and the rest apart
RUN_FIELDS = ("torch", "cuda", "driver", "vggt")  # what moves a timing between two runs on one device
_COMMIT = re.compile(r"^[0-9a-f]{40}$")

SHOW_HEADER = (
    "case",
    "backend",
    "frames",
    "resolution",
    "dtype",
    "median s",
    "IQR/median",
    "rounds",
    "processes",
    "peak GiB",
    "time tolerance",
    "relative_error",
    "attention_kernel",
    "run",
)


def _order(key: CaseKey) -> tuple[str, Resolution, int, str]:
    # The suite's run order: one workload's inputs together, backends of one input side by side.
    return (key.workload, key.resolution, key.frames, key.backend)


def _seconds(value: float) -> str:
    return f"{value:#.4g}"


def _gib(entry: BaselineEntry | None) -> str:
    return f"{entry.memory.peak_allocated_bytes / GIB:.2f}" if entry and entry.memory else "-"


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _commit(text: str) -> str:
    return text[:12] if _COMMIT.match(text) else text


def show_rows(baseline: Baseline) -> list[tuple[str, ...]]:
    """One row per entry, in the suite's run order."""
    rows: list[tuple[str, ...]] = []
    for entry in sorted(baseline.entries.values(), key=lambda e: _order(e.key)):
        error = entry.evidence.relative_error
        rows.append(
            (
                entry.key.case_id,
                entry.key.backend,
                str(entry.key.frames),
                str(entry.key.resolution),
                entry.dtype,
                _seconds(entry.timing.median_s),
                f"{entry.timing.iqr_s / entry.timing.median_s:.1%}",
                str(entry.timing.rounds),
                _processes(entry),
                _gib(entry),
                f"+{entry.time_tolerance:.0%}",
                "-" if error is None else f"{error:.2e}",
                _shorten(entry.evidence.attention_kernel, KERNEL_WIDTH) or "-",
                entry.run,
            )
        )
    return rows


def run_rows(baseline: Baseline) -> list[tuple[str, ...]]:
    """One row per run, oldest first."""
    return [
        (run_id, run.measured_at, *(_commit(run.environment.get(name, "-")) for name in RUN_FIELDS))
        for run_id, run in sorted(baseline.runs.items(), key=lambda item: (item[1].measured_at, item[0]))
    ]


def _device_line(device: Mapping[str, str]) -> str:
    return ", ".join(f"{name}={value}" for name, value in device.items()) or "(none recorded)"


def _processes(entry: BaselineEntry) -> str:
    """How many processes the entry pools, with their spread; "1" for an entry of one process."""
    medians = entry.process_medians_s
    return f"{len(medians)} (sd {between_run_spread(medians):.1%})" if len(medians) > 1 else "1"


def single_process_note(baseline: Baseline) -> list[str]:
    """The line that says how many entries rest on one process each (older files, single-process updates)."""
    single = sum(1 for entry in baseline.entries.values() if entry.processes == 1)
    if not single:
        return []
    return [
        f"{single} of {len(baseline.entries)} entries rest on one process each: their tolerance knows no spread "
        "between processes, so they are held to at least +3 %; re-record them from 3 processes "
        "(docs/gate-trials.md)"
    ]


def render_show(baseline: Baseline, source: str) -> list[str]:
    lines = [f"{source}: {len(baseline.entries)} entries, {len(baseline.runs)} runs", *single_process_note(baseline)]
    lines += render_table(SHOW_HEADER, show_rows(baseline))
    lines += ["", "runs:", *render_table(("run", "measured_at", *RUN_FIELDS), run_rows(baseline))]
    return [*lines, "", f"device: {_device_line(baseline.device)}"]


class Side(enum.Enum):
    """Which of the two diffed files holds a case; the value is what the table says."""

    BOTH = ""
    ONLY_A = "only in A"
    ONLY_B = "only in B"


@dataclass(frozen=True)
class DiffRow:
    """One case id of either file; an entry is None on the side that lacks the case."""

    case_id: str
    a: BaselineEntry | None
    b: BaselineEntry | None

    @property
    def ratio(self) -> float | None:
        """Median of B over median of A, where both have the case."""
        return self.b.timing.median_s / self.a.timing.median_s if self.a and self.b else None

    @property
    def side(self) -> Side:
        return Side.BOTH if self.a and self.b else Side.ONLY_A if self.a else Side.ONLY_B


def diff_rows(a: Baseline, b: Baseline) -> list[DiffRow]:
    """Every case id of either file, in the suite's run order."""
    # By case id, the file's key: two keys can spell one id (workload "a-b" + backend "c" and "a" + "b-c").
    keys = {entry.key.case_id: entry.key for entry in (*a.entries.values(), *b.entries.values())}
    ordered = sorted(keys.values(), key=_order)
    return [DiffRow(key.case_id, a.entries.get(key.case_id), b.entries.get(key.case_id)) for key in ordered]


def newest_run(baseline: Baseline) -> tuple[str, RunInfo] | None:
    return max(baseline.runs.items(), key=lambda item: (item[1].measured_at, item[0]), default=None)


def unequal_environment_fields(a: RunInfo, b: RunInfo) -> list[tuple[str, str, str]]:
    """(field, value in A, value in B) for each environment field whose values differ; '-' where one lacks it.

    For showing two files side by side, every field counts; the gate's own comparison (perf.core.environment_diff)
    skips unknown fields."""
    names = sorted(a.environment.keys() | b.environment.keys())
    values = [(name, a.environment.get(name, "-"), b.environment.get(name, "-")) for name in names]
    return [row for row in values if row[1] != row[2]]


def _diff_cells(row: DiffRow) -> tuple[str, ...]:
    return (
        row.case_id,
        _seconds(row.a.timing.median_s) if row.a else "-",
        _seconds(row.b.timing.median_s) if row.b else "-",
        "-" if row.ratio is None else f"{row.ratio:.3f}",
        _gib(row.a),
        _gib(row.b),
        row.side.value,
    )


def _environment_lines(a: Baseline, b: Baseline) -> list[str]:
    newest_a, newest_b = newest_run(a), newest_run(b)
    if newest_a is None or newest_b is None:
        return ["environment: not compared, a file without runs"]
    differences = unequal_environment_fields(newest_a[1], newest_b[1])
    title = f"environment of the newest runs (A {newest_a[0]}, B {newest_b[0]}):"
    if not differences:
        return [f"{title} every field is the same"]
    return [title, *render_table(("field", "A", "B"), differences)]


def render_diff(a: Baseline, b: Baseline, source_a: str, source_b: str) -> list[str]:
    rows = diff_rows(a, b)
    sides = Counter(row.side for row in rows)
    header = ("case", "median A s", "median B s", "B/A", "peak GiB A", "peak GiB B", "")
    lines = [
        f"A: {source_a} ({a.device.get('name', '?')})",
        f"B: {source_b} ({b.device.get('name', '?')})",
        *render_table(header, [_diff_cells(row) for row in rows]),
        f"{len(rows)} cases: {sides[Side.BOTH]} in both, "
        f"{sides[Side.ONLY_A]} {Side.ONLY_A.value}, {sides[Side.ONLY_B]} {Side.ONLY_B.value}",
        "",
    ]
    return [*lines, *_environment_lines(a, b)]


@dataclass(frozen=True)
class Removal:
    """An entry no test produces any more, and why."""

    case_id: str
    reason: str


def entries_to_prune(baseline: Baseline, workloads: Iterable[str], backends: Iterable[str]) -> list[Removal]:
    """Entries whose workload or backend is not registered: no test can measure them again.

    Frame counts and resolutions are not judged: --frames and --resolution measure any, outside every profile.
    """
    known_workloads, known_backends = set(workloads), set(backends)
    removals = []
    for entry in sorted(baseline.entries.values(), key=lambda e: _order(e.key)):
        unknown = [
            f"unknown {axis} {name!r}"
            for axis, name, known in (
                ("workload", entry.key.workload, known_workloads),
                ("backend", entry.key.backend, known_backends),
            )
            if name not in known
        ]
        if unknown:
            removals.append(Removal(entry.key.case_id, ", ".join(unknown)))
    return removals


def render_removals(removals: Sequence[Removal]) -> list[str]:
    return render_table(("case", "why"), [(r.case_id, r.reason) for r in removals])
