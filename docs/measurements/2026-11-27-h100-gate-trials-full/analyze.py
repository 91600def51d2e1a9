"""The A/A and sensitivity tables of docs/gate-trials.md, from the raw trials in this folder.

    python docs/measurements/2026-11-27-h100-gate-trials-full/analyze.py

Every trial kept its rounds, so each is judged again here by this version's gate (perf.compare.judge against an
entry made by perf.baseline.new_entry, as --update-baselines writes it), whatever policy was in force when it ran:
"as run" is the verdict the device printed, "now" the verdict of the shipped policy. "settled" judges the same
trials against a baseline past the process's first measurement: the first A/A trial becomes the baseline and the
other 19 the A/A runs (runs measured with --settle 1 are settled already).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

from perf.baseline import new_entry
from perf.compare import judge
from perf.results import CaseKey, CaseResult, Evidence, Outcome, Resolution, VerdictKind
from perf.stats import DEFAULT_MEMORY_TOLERANCE, DEFAULT_TIME_TOLERANCE, summarize_rounds
from perf.workloads import WORKLOADS

HERE = Path(__file__).parent
REGRESSED = VerdictKind.REGRESSION.value
RUNS = {  # file: what distinguishes it
    "trials-1.json": "2 s of rounds, first measurement as baseline",
    "trials-8.json": "2 s of rounds, first measurement as baseline",
    "trials-20.json": "2 s of rounds, first measurement as baseline",
    "trials-20-long.json": "5 s of rounds, one settling measurement",
}


def verdict(frames: int, baseline_s: list[float], trial_s: list[float]) -> tuple[bool, float, float]:
    """(regressed, ratio of medians, tolerance) of the shipped gate for these rounds."""
    key = CaseKey("vggt-aggregator", "sdpa-default", frames, Resolution(350, 518))
    entry = new_entry(
        key,
        "bf16",
        summarize_rounds(baseline_s),
        None,
        Evidence(),
        least_time_tolerance=DEFAULT_TIME_TOLERANCE,
        memory_tolerance=DEFAULT_MEMORY_TOLERANCE,
        regimes=WORKLOADS[key.workload].regimes,
    )
    judged = judge(CaseResult(key, Outcome.OK, "bf16", summarize_rounds(trial_s)), entry)
    comparison = judged.comparisons[0]
    return judged.kind is VerdictKind.REGRESSION, comparison.ratio, comparison.tolerance


def rows(name: str, settled: bool) -> list[str]:
    document = json.loads((HERE / name).read_text())
    trials = document["trials"]
    frames = trials[0]["frames"]
    baseline = document["baselines"][0]["samples_s"]
    aa = [t for t in trials if t["slowdown"] == 0]
    if settled and not name.endswith("long.json"):
        baseline, aa = aa[0]["samples_s"], aa[1:]
    label = f"{frames} | {RUNS[name]}{', settled' if settled else ''}"
    judged = [verdict(frames, baseline, t["samples_s"]) for t in aa]
    ratios = [ratio for _, ratio, _ in judged]
    lines = [
        f"| {label} | {len(aa)} | {sum(t['verdict'] == REGRESSED for t in aa)} | "
        f"{sum(regressed for regressed, _, _ in judged)} | x{min(ratios):.3f}-x{max(ratios):.3f} | "
        f"{judged[0][2]:.0%} |"
    ]
    for slowdown in sorted({t["slowdown"] for t in trials} - {0.0}):
        runs = [t for t in trials if t["slowdown"] == slowdown]
        judged = [verdict(frames, baseline, t["samples_s"]) for t in runs]
        ratios = [ratio for _, ratio, _ in judged]
        lines.append(
            f"| {label} | {slowdown:.0%} | {sum(t['verdict'] == REGRESSED for t in runs)} of {len(runs)} | "
            f"{sum(regressed for regressed, _, _ in judged)} of {len(runs)} | "
            f"x{min(ratios):.3f}-x{max(ratios):.3f} (median x{statistics.median(ratios):.3f}) |"
        )
    return lines


def main() -> None:
    aa_lines = ["| frames | run | A/A runs | false regressions as run | now | ratio range | tolerance now |"]
    aa_lines.append("|---:|---|---:|---:|---:|---|---:|")
    sensitivity = ["| frames | run | slowdown | caught as run | caught now | ratio range now |"]
    sensitivity.append("|---:|---|---:|---:|---:|---|")
    for name in RUNS:
        for settled in (False, True) if not name.endswith("long.json") else (False,):
            first, *rest = rows(name, settled)
            aa_lines.append(first)
            sensitivity += rest
    print("\n".join([*aa_lines, "", *sensitivity]))


if __name__ == "__main__":
    sys.exit(main())
