"""Frozen values shared by every layer: cases, measurements, results and verdicts."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

_RESOLUTION = re.compile(r"^(\d+)x(\d+)$")
PATCH_SIZE = 14  # VGGT's DINOv2 ViT-L/14 patch embed: input sides are multiples of it


@dataclass(frozen=True, order=True)
class Resolution:
    """Input image size in pixels, written HxW as VGGT's examples load it (350x518)."""

    height: int
    width: int

    @classmethod
    def parse(cls, text: str) -> Resolution:
        match = _RESOLUTION.match(text.strip())
        if not match:
            raise ValueError(f"resolution {text!r} is not HxW, e.g. 350x518")
        height, width = int(match.group(1)), int(match.group(2))
        if height <= 0 or width <= 0:
            raise ValueError(f"resolution {text!r} must be positive")
        if height % PATCH_SIZE or width % PATCH_SIZE:
            raise ValueError(f"resolution {text!r}: VGGT takes sides that are multiples of {PATCH_SIZE}, e.g. 350x518")
        return cls(height, width)

    def __str__(self) -> str:
        return f"{self.height}x{self.width}"


@dataclass(frozen=True, order=True)
class CaseKey:
    """One benchmark case: what runs (workload), how attention runs (backend), on what input."""

    workload: str
    backend: str
    frames: int
    resolution: Resolution

    @property
    def case_id(self) -> str:
        """Stable id used as the pytest id and the baseline key, e.g. vggt-aggregator-sdpa-flash-20f-350x518."""
        return f"{self.workload}-{self.backend}-{self.frames}f-{self.resolution}"


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds per synchronized forward pass, summarised over the timed rounds.

    samples_s holds every timed round's seconds in the order they ran (what the rank test compares); it is
    empty for baseline entries recorded before samples were kept, whose verdicts rest on the medians alone.
    """

    median_s: float
    iqr_s: float
    min_s: float
    max_s: float
    rounds: int
    samples_s: tuple[float, ...] = ()


@dataclass(frozen=True)
class Memory:
    """Peak GPU memory of the case (weights, inputs and activations); None where there is no GPU."""

    peak_allocated_bytes: int
    peak_reserved_bytes: int


class Outcome(enum.Enum):
    OK = "ok"
    OOM = "oom"
    SKIPPED = "skipped"
    WRONG = "wrong"  # the backend's output was wrong, or another kernel than the forced one ran


@dataclass(frozen=True)
class Evidence:
    """What shows a case measured the backend it names: the attention kernel that ran and the output's error."""

    attention_kernel: str = ""  # the fused attention kernel with the most device time; "" off-GPU or for none
    relative_error: float | None = None  # output against its reference (perf.workloads.correctness); None: unchecked
    compile_s: float = 0.0  # one-off compilation during warm-up (flex), never part of the timed rounds


# A case is suspect when throttling (perf.hardware.clocks: thermal limits, hardware slowdowns, a power limit below the
# GPU's default) held the SM clock down by this much on average over its samples (for GPU-bound work, about how
# much slower its rounds ran). 1 % is a third of the 3 % tolerance of GPU-bound cases: one short dip (a sample or
# two of 50 ms in a case's 2-5 s) stays below it, while a limit that holds the clock down for the case does not.
# The lent H100s showed no throttling, only their default power cap, so no measured example sets it.
SUSPECT_CLOCK_DEFICIT = 0.01


@dataclass(frozen=True)
class Clocks:
    """What the NVML samples of one case's timed rounds say (perf.hardware.clocks); samples 0 where NVML cannot."""

    samples: int = 0
    limited_samples: int = 0  # a throttling reason was active, whatever it did to the clock
    power_capped_samples: int = 0  # held at the GPU's default power limit: its normal state under load, not throttling
    clock_deficit: float = 0.0  # how far throttling held the SM clock below its maximum, averaged over samples
    reasons: tuple[str, ...] = ()  # the limits of the samples they held down
    sm_clock_min_mhz: int = 0
    sm_clock_max_mhz: int = 0
    sm_clock_mean_mhz: float = 0.0  # the mean over samples: time x this clock is the case's time in cycle space

    @property
    def suspect(self) -> str:
        """One line on why the timing is suspect, or "" when the limits cost the clock less than the threshold."""
        if not self.samples or self.clock_deficit < SUSPECT_CLOCK_DEFICIT:
            return ""
        return (
            f"GPU clock held down by {', '.join(self.reasons)}: {self.clock_deficit:.1%} below its maximum on average "
            f"over {self.samples} clock samples, SM clock {self.sm_clock_min_mhz}-{self.sm_clock_max_mhz} MHz"
        )


@dataclass(frozen=True)
class CaseResult:
    """What one case produced: a measurement, or why there is none."""

    key: CaseKey
    outcome: Outcome
    dtype: str = ""
    timing: Timing | None = None
    memory: Memory | None = None
    reason: str = ""
    evidence: Evidence = Evidence()
    rounds_ended_by: str = ""  # perf.measure.timing.RoundsEndedBy's value: precision reached, or a cap
    clocks: Clocks = Clocks()  # NVML's samples during the timed rounds (perf.hardware.clocks)


class VerdictKind(enum.Enum):
    """Ordered worst first, so sorting by this puts regressions at the top of a report."""

    WRONG = "wrong"
    REGRESSION = "regression"
    MISSING = "missing"
    OOM = "oom"
    SKIPPED = "skipped"
    IMPROVED = "improved"
    NEW = "new"
    PASS = "pass"

    @property
    def rank(self) -> int:
        return list(VerdictKind).index(self)


@dataclass(frozen=True)
class MetricComparison:
    """One metric of a case against its baseline; ratio is measured / baseline.

    Time carries its rank test: p_value is the one-sided Mann-Whitney U p in the direction the medians moved
    (slower when the ratio is >= 1, else faster), or None with the reason in `untested` where the ratio alone
    decided. Memory is exact: no test, `untested` empty. detectable is the smallest change (a fraction, like
    tolerance) this comparison could flag: the tolerance, or more where the rounds are too noisy for the test.
    """

    metric: str
    unit: str
    measured: float
    baseline: float
    tolerance: float
    kind: VerdictKind
    detectable: float
    p_value: float | None = None
    untested: str = ""

    @property
    def ratio(self) -> float:
        return self.measured / self.baseline


@dataclass(frozen=True)
class Verdict:
    """The gate's word on one case; `reason` is the one line every renderer shows."""

    case_id: str
    kind: VerdictKind
    reason: str
    comparisons: tuple[MetricComparison, ...] = ()
