"""GPU clocks during the timed rounds, sampled through NVML: a case measured while throttled is suspect.

A GPU slowed by heat, by a hardware slowdown or by a power limit set below its default runs its kernels slower
than the same GPU as shipped, so such a round measures the room, not the code: the gate says so and an update
never writes it as a baseline. A GPU at its own default power limit is not throttled: under heavy work that cap
is where its boost clock settles, on every run alike (the lent H100 SXM held attention at 100 frames 8-16 % below
its maximum clock at 700 W, and such cases repeated within 2 % across machines), so it is the normal state; the
samples it held are counted apart (Clocks.power_capped_samples).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch

from perf.core.results import Clocks
from perf.hardware.fingerprint import device_uuid, nvml_handle

# NVML's clock-event reasons (nvml.h, nvmlClocksEventReason*) that slow a busy GPU: power and thermal limits (the
# software power cap only under a limit below the GPU's default, see ClockSample). Not here: GpuIdle (between
# rounds), ApplicationsClocksSetting and DisplayClockSetting (a configured clock, the fingerprint records it) and
# SyncBoost (clocks held together across GPUs).
SOFTWARE_POWER_CAP = 0x04
THROTTLE_REASONS = {
    SOFTWARE_POWER_CAP: "software power cap",
    0x08: "hardware slowdown",
    0x20: "software thermal slowdown",
    0x40: "hardware thermal slowdown",
    0x80: "hardware power brake",
}
THROTTLE_MASK = sum(THROTTLE_REASONS)
# Seconds between samples: a 2 s case gets about 40. An episode shorter than this may fall between two samples;
# one that lasts long enough to move a median shows in several.
SAMPLE_INTERVAL_S = 0.05


@dataclass(frozen=True)
class ClockSample:
    """One NVML reading: the clock-event reasons bitmask, the SM clock and the GPU's maximum SM clock (0: unknown).

    at_default_power_limit: the enforced power limit is the GPU's default (or above), so its cap is not throttling.
    """

    reasons: int
    sm_clock_mhz: int
    sm_clock_max_mhz: int = 0
    at_default_power_limit: bool = False

    @property
    def throttling(self) -> int:
        """The reasons that throttle: thermal limits, hardware slowdowns and a lowered power limit's cap."""
        mask = THROTTLE_MASK & ~SOFTWARE_POWER_CAP if self.at_default_power_limit else THROTTLE_MASK
        return self.reasons & mask

    @property
    def power_capped(self) -> bool:
        """Held at the GPU's default power limit: recorded, not held against the case."""
        return self.at_default_power_limit and bool(self.reasons & SOFTWARE_POWER_CAP)

    @property
    def limited(self) -> bool:
        """A throttling reason is active, whatever it does to the clock."""
        return bool(self.throttling)


def summarize_clocks(samples: Sequence[ClockSample]) -> Clocks:
    """The samples of one case as Clocks (pure). A limited sample's deficit is how far its clock fell below the
    GPU's maximum (the highest sampled clock where NVML does not say); unlimited samples count as no deficit."""
    if not samples:
        return Clocks()
    clocks = [sample.sm_clock_mhz for sample in samples]
    deficits = [_deficit(sample, max(clocks)) for sample in samples]
    held_down = [sample for sample, deficit in zip(samples, deficits, strict=True) if deficit > 0]
    seen = {bit for sample in held_down for bit in THROTTLE_REASONS if sample.throttling & bit}
    return Clocks(
        samples=len(samples),
        limited_samples=sum(sample.limited for sample in samples),
        power_capped_samples=sum(sample.power_capped for sample in samples),
        clock_deficit=sum(deficits) / len(samples),
        reasons=tuple(THROTTLE_REASONS[bit] for bit in sorted(seen)),
        sm_clock_min_mhz=min(clocks),
        sm_clock_max_mhz=max(clocks),
        sm_clock_mean_mhz=sum(clocks) / len(clocks),
    )


def _deficit(sample: ClockSample, highest_sampled_mhz: int) -> float:
    peak = sample.sm_clock_max_mhz or highest_sampled_mhz
    if not sample.limited or peak <= 0:
        return 0.0
    return max(0.0, 1 - sample.sm_clock_mhz / peak)


@contextlib.contextmanager
def sampled_clocks(device: torch.device) -> Iterator[list[ClockSample]]:
    """Sample the device's clocks every SAMPLE_INTERVAL_S while the block runs, into the list it yields.

    Never raises and never samples off CUDA: without nvidia-ml-py, NVML or a GPU NVML knows, the list stays empty.
    """
    samples: list[ClockSample] = []
    read = _clock_reader(device) if device.type == "cuda" else None
    if read is None:
        yield samples
        return
    stop = threading.Event()

    def sample_until_stopped() -> None:
        while True:
            with contextlib.suppress(Exception):  # a reading NVML refuses is one sample fewer, never an error
                samples.append(read())
            if stop.wait(SAMPLE_INTERVAL_S):
                return

    sampler = threading.Thread(target=sample_until_stopped, name="vggt-perf clock sampler", daemon=True)
    sampler.start()
    try:
        yield samples
    finally:
        stop.set()
        sampler.join()


def _clock_reader(device: torch.device) -> Callable[[], ClockSample] | None:
    """A function reading one ClockSample of the device, or None where NVML cannot. NVML stays initialised: it is
    reference-counted, and shutting it down between cases would cost more than the readings."""
    try:
        import pynvml  # nvidia-ml-py

        pynvml.nvmlInit()
        handle = nvml_handle(pynvml, device.index or 0, device_uuid(device))
    except Exception:  # no nvidia-ml-py, no driver, or a GPU NVML does not know (a MIG instance)
        return None

    # Newer bindings call them clocks event reasons, older ones (and older drivers' NVML) throttle reasons.
    reasons_of = getattr(pynvml, "nvmlDeviceGetCurrentClocksEventReasons", None)
    reasons_of = reasons_of or pynvml.nvmlDeviceGetCurrentClocksThrottleReasons

    try:
        max_mhz = int(pynvml.nvmlDeviceGetMaxClockInfo(handle, pynvml.NVML_CLOCK_SM))
    except Exception:  # unknown: deficits are then taken against the highest sampled clock
        max_mhz = 0
    try:  # milliwatts; a limit raised above the default counts as the default
        enforced_mw = pynvml.nvmlDeviceGetEnforcedPowerLimit(handle)
        default_mw = pynvml.nvmlDeviceGetPowerManagementDefaultLimit(handle)
        at_default_power_limit = bool(enforced_mw >= default_mw)
    except Exception:  # unknown: a power cap then counts as throttling, as under a lowered limit
        at_default_power_limit = False

    def read() -> ClockSample:
        reasons = reasons_of(handle)
        sm_clock = int(pynvml.nvmlDeviceGetClockInfo(handle, pynvml.NVML_CLOCK_SM))
        return ClockSample(int(reasons), sm_clock, max_mhz, at_default_power_limit)

    return read
