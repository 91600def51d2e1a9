"""The gate across processes, replayed from what separate processes measured (pure but for reading the files).

    python -m perf.tools.process_trials --baseline p1.json p2.json p3.json --runs p4.json … --out tables.md

Each file is one process: a gate_trials file (--settle 0: its baselines are that process's first measurement of each
case, its trials the slowed-down ones) or a pytest --benchmark-json file. The --baseline processes become entries as
`python -m perf baseline update` pools them (perf.core.conversion's pooling: median of medians, all rounds, the
spread widening the tolerance); every --runs process is then a gate run judged against them exactly as the plugin
judges (perf.core.compare.judge), and a case beyond tolerance is confirmed with the next run process's measurement
of the same case and slowdown (perf.core.confirmation.confirm), as `pytest --confirm-from` would in a fresh process.
--rotate also takes every K of all the files as the baseline in turn, the others as runs, for rates over many pairs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from perf.core.arguments import fraction, positive_int
from perf.core.baselines import BaselineEntry
from perf.core.catalog import parse_case_id, workload_regimes
from perf.core.compare import judge
from perf.core.confirmation import confirm, time_regressed_only
from perf.core.results import CaseKey, CaseResult, Evidence, Outcome, Timing, VerdictKind
from perf.core.stats import summarize_rounds
from perf.core.tolerance import DEFAULT_MEMORY_TOLERANCE, DEFAULT_TIME_TOLERANCE, pooled_entry
from perf.storage.atomic import write_text_atomically
from perf.storage.benchmark_json import read_benchmark_json

Variant = tuple[str, float]  # (case id, slowdown): slowdown 0 is the unchanged case


@dataclass(frozen=True)
class Process:
    name: str
    timings: Mapping[Variant, Timing]


@dataclass(frozen=True)
class Judged:
    """One gate run of one variant: its ratio, the first verdict and, where that regressed, the confirmed one."""

    variant: Variant
    process: str
    ratio: float
    tolerance: float
    first: VerdictKind
    final: VerdictKind
    rerun_ratio: float | None


def read_process(path: Path) -> Process:
    document = json.loads(path.read_text(encoding="utf-8"))
    timings: dict[Variant, Timing] = {}
    if "trials" in document:  # perf.tools.gate_trials
        for base in document["baselines"]:
            timings[(base["case_id"], 0.0)] = summarize_rounds(base["samples_s"])
        for trial in document["trials"]:
            timings.setdefault((trial["case_id"], trial["slowdown"]), summarize_rounds(trial["samples_s"]))
    else:  # pytest --benchmark-json
        for benchmark in read_benchmark_json(path).benchmarks:
            if benchmark.outcome is Outcome.OK and benchmark.timing is not None:
                timings[(benchmark.key.case_id, 0.0)] = benchmark.timing
    return Process(path.stem, timings)


def baseline_entries(processes: Sequence[Process], least: float) -> dict[str, BaselineEntry]:
    """The entries an update pooling these processes writes (cases all of them measured unchanged)."""
    regimes = workload_regimes()
    cases = set.intersection(*({c for c, s in p.timings if s == 0} for p in processes))
    entries = {}
    for case_id in sorted(cases):
        key: CaseKey = parse_case_id(case_id)
        entries[case_id] = pooled_entry(
            key,
            "",
            [p.timings[(case_id, 0.0)] for p in processes],
            None,
            Evidence(),
            least_time_tolerance=least,
            memory_tolerance=DEFAULT_MEMORY_TOLERANCE,
            regimes=regimes[key.workload],
        )
    return entries


def gate_runs(entries: Mapping[str, BaselineEntry], runs: Sequence[Process]) -> list[Judged]:
    """Every run's verdict on every variant with an entry; a regression confirmed with the next run that has it."""
    judged = []
    for index, process in enumerate(runs):
        for variant, timing in process.timings.items():
            entry = entries.get(variant[0])
            if entry is None:
                continue
            key = entry.key
            first = CaseResult(key, Outcome.OK, "", timing)
            verdict = judge(first, entry)
            final, rerun_ratio = verdict.kind, None
            if time_regressed_only(verdict):
                partner = next(
                    (
                        other.timings[variant]
                        for other in (*runs[index + 1 :], *runs[:index])
                        if variant in other.timings
                    ),
                    None,
                )
                if partner is not None:
                    final = confirm(first, CaseResult(key, Outcome.OK, "", partner), entry).kind
                    rerun_ratio = partner.median_s / entry.timing.median_s
            judged.append(
                Judged(
                    variant,
                    process.name,
                    timing.median_s / entry.timing.median_s,
                    entry.time_tolerance,
                    verdict.kind,
                    final,
                    rerun_ratio,
                )
            )
    return judged


def table(judged: Sequence[Judged], title: str) -> list[str]:
    """Per variant: runs, first-run regressions, confirmed regressions, ratio range, tolerance (markdown)."""
    regression = VerdictKind.REGRESSION
    lines = [
        f"**{title}**",
        "",
        "| case | slowdown | gate runs | beyond tolerance (first run) | regressions after confirmation "
        "| ratio median | ratio range | tolerance median |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for variant in sorted({j.variant for j in judged}, key=lambda v: (parse_case_id(v[0]).workload, *reversed(v))):
        rows = [j for j in judged if j.variant == variant]
        ratios = [j.ratio for j in rows]
        lines.append(
            f"| {variant[0]} | {variant[1]:.0%} | {len(rows)} | {sum(j.first is regression for j in rows)} "
            f"| {sum(j.final is regression for j in rows)} | x{statistics.median(ratios):.3f} "
            f"| x{min(ratios):.3f}-x{max(ratios):.3f} | +{statistics.median(j.tolerance for j in rows):.0%} |"
        )
    return lines


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m perf.tools.process_trials", description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, nargs="+", required=True, help="the processes an update pools")
    parser.add_argument("--runs", type=Path, nargs="+", required=True, help="the gate runs, in the order they ran")
    parser.add_argument("--rotate", type=positive_int, default=0, help="also every K of all files as the baseline")
    parser.add_argument("--time-tolerance", type=fraction, default=DEFAULT_TIME_TOLERANCE)
    parser.add_argument("--out", type=Path, help="write the tables here too (markdown)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    base = [read_process(path) for path in arguments.baseline]
    runs = [read_process(path) for path in arguments.runs]
    entries = baseline_entries(base, arguments.time_tolerance)
    names = ", ".join(p.name for p in base)
    lines = table(
        gate_runs(entries, runs), f"Baseline pooled from {names}; gate runs {', '.join(p.name for p in runs)}"
    )
    for case_id, entry in entries.items():
        medians = ", ".join(f"{m:.4g}" for m in entry.process_medians_s)
        lines.append(
            f"- {case_id}: baseline median {entry.timing.median_s:.4g} s (processes {medians}), "
            f"tolerance +{entry.time_tolerance:.0%}"
        )
    if arguments.rotate:
        every = base + runs
        judged: list[Judged] = []
        for chosen in itertools.combinations(range(len(every)), arguments.rotate):
            pool = [every[i] for i in chosen]
            judged += gate_runs(
                baseline_entries(pool, arguments.time_tolerance), [p for i, p in enumerate(every) if i not in chosen]
            )
        count = len(list(itertools.combinations(range(len(every)), arguments.rotate)))
        lines += [
            "",
            *table(
                judged,
                f"Every {arguments.rotate} of the {len(every)} processes as the baseline in turn ({count} baselines)",
            ),
        ]
    text = "\n".join(lines)
    print(text)
    if arguments.out:
        write_text_atomically(arguments.out, text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
