"""What the suite does with pytest-benchmark's own options.

The suite times its own rounds (perf.measure.timing): pytest-benchmark's round-control options would be silently
ignored, or would time the cases under conditions the baselines were not recorded in, so a session that runs the
suite's cases refuses each one the user set, in one line naming the suite option that replaces it. Its storage and
display options (--benchmark-json, -save, -autosave, -compare, -columns, -sort, -group-by, -name, -time-unit, -only,
-skip, -disable...) keep working; the table speaks seconds, as the suite's verdict table does, and the files record
the rounds as the suite ran them.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

import pytest

from perf.measure.timing import RoundPolicy
from perf.storage.extra_info import WORKLOAD_KEY

_OWN_ROUNDS = "has no effect here: the suite times its own rounds"
_NOT_COMPARABLE = "is refused here: the baselines were timed with"


@dataclass(frozen=True)
class ReplacedFlag:
    """A pytest-benchmark option the suite refuses, and what to use instead."""

    flag: str
    default: object  # its value when absent, as pytest-benchmark 5 parses it (a test holds this to a plain run)
    refusal: str  # the rest of the one line, after the flag

    def message(self) -> str:
        return f"vggt-perf: {self.flag} {self.refusal}"


REPLACED_FLAGS = (
    ReplacedFlag("--benchmark-min-time", "0.000005", f"{_OWN_ROUNDS}, one forward each; use --max-time, --min-rounds"),
    ReplacedFlag("--benchmark-max-time", "1.0", f"{_OWN_ROUNDS}; use --max-time"),
    ReplacedFlag("--benchmark-min-rounds", 5, f"{_OWN_ROUNDS}; use --min-rounds"),
    ReplacedFlag("--benchmark-precision", None, f"{_OWN_ROUNDS}; use --precision"),
    ReplacedFlag("--benchmark-confidence", 0.99, f"{_OWN_ROUNDS}; use --precision (of the median's 95 % interval)"),
    ReplacedFlag("--benchmark-calibration-precision", 10, f"{_OWN_ROUNDS}, never calibrated; use --precision"),
    ReplacedFlag("--benchmark-warmup", False, f"{_OWN_ROUNDS}; use --warmup-time"),
    ReplacedFlag("--benchmark-warmup-iterations", 100000, f"{_OWN_ROUNDS}; use --warmup-time"),
    ReplacedFlag(
        "--benchmark-timer",
        "time.perf_counter",
        f"{_NOT_COMPARABLE} time.perf_counter around a synchronized forward, and another clock does not compare",
    ),
    ReplacedFlag(
        "--benchmark-disable-gc",
        False,
        f"{_NOT_COMPARABLE} the garbage collector on, and rounds without it do not compare",
    ),
    *(
        ReplacedFlag(
            flag, default, f"{_OWN_ROUNDS} and ends them before pytest-benchmark profiles; use python -m cProfile"
        )
        for flag, default in (
            ("--benchmark-cprofile", None),
            ("--benchmark-cprofile-loops", 1),
            ("--benchmark-cprofile-top", 25),
            ("--benchmark-cprofile-dump", []),
        )
    ),
    # Its saved run's min or mean against fixed thresholds, raised after every test passed, would be a second gate
    # that disagrees with the verdicts; --benchmark-compare still shows saved runs side by side.
    ReplacedFlag(
        "--benchmark-compare-fail",
        None,
        "is not this suite's gate: a case fails when it is slower than its entry in the baseline file "
        "(--baseline-file; tolerances are recorded per entry)",
    ),
)


def refuse_replaced_flags(config: pytest.Config) -> None:
    """One line for the first pytest-benchmark option the user set that the suite refuses; nothing if none."""
    for replaced in REPLACED_FLAGS:
        if config.getoption(replaced.flag, replaced.default) != replaced.default:
            raise pytest.UsageError(replaced.message())


def pygal_installed() -> bool:
    return importlib.util.find_spec("pygal") is not None


def refuse_histogram_without_pygal(config: pytest.Config) -> None:
    """--benchmark-histogram draws with pygal: without it pytest-benchmark ends the session with a traceback."""
    if config.getoption("--benchmark-histogram", []) and not pygal_installed():
        raise pytest.UsageError(
            "vggt-perf: --benchmark-histogram draws with pygal, which is not installed: pip install pygal"
        )


def time_table_in_seconds(config: pytest.Config) -> None:
    """pytest-benchmark's table in seconds, as the verdict table, unless the user chose --benchmark-time-unit."""
    if config.getoption("--benchmark-time-unit", "auto") is None:
        config.option.benchmark_time_unit = "s"


def record_suite_rounds(output_json: dict[str, Any], policy: RoundPolicy) -> None:
    """A --benchmark-json or --benchmark-save file records, for each of the suite's cases, the round policy that ran
    them (perf.measure.timing) where pytest-benchmark writes its own round options, which never applied to them."""
    for benchmark in output_json.get("benchmarks", []):
        if WORKLOAD_KEY in benchmark.get("extra_info", {}):
            benchmark["options"] = {
                "timer": "time.perf_counter",
                "disable_gc": False,
                "warmup_time": policy.warmup_s,
                "max_time": policy.max_time_s,
                "min_rounds": policy.min_rounds,
                "max_rounds": policy.max_rounds,
                "precision": policy.precision,
            }
