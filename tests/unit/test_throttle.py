"""Clock samples during the timed rounds: which NVML reasons make a case suspect, and a sampler that never fails."""

from __future__ import annotations

import dataclasses
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import perf.hardware.clocks as throttle
from perf.backends.registry import BACKENDS
from perf.core.compare import judge
from perf.core.results import SUSPECT_CLOCK_DEFICIT, CaseKey, CaseResult, Clocks, Outcome, Resolution
from perf.core.stats import summarize_rounds
from perf.hardware.clocks import (
    SOFTWARE_POWER_CAP,
    THROTTLE_MASK,
    THROTTLE_REASONS,
    ClockSample,
    sampled_clocks,
    summarize_clocks,
)
from perf.pytest_plugin.state import MeasuredCase, RunRecord, SuiteState
from perf.pytest_plugin.update import write_measured
from perf.workloads.registry import WORKLOADS

IDLE, APP_CLOCKS, SYNC_BOOST, DISPLAY = 0x01, 0x02, 0x10, 0x100
POWER_CAP, HW_THERMAL = SOFTWARE_POWER_CAP, 0x40
CUDA = torch.device("cuda", 0)


def test_no_samples_say_nothing_and_suspect_nothing() -> None:
    assert summarize_clocks([]) == Clocks()
    assert Clocks().suspect == ""


def test_idle_configured_and_synchronised_clocks_are_not_throttling() -> None:
    readings = (0, IDLE, APP_CLOCKS, SYNC_BOOST, DISPLAY)
    clocks = summarize_clocks([ClockSample(reason, 1410, 1980) for reason in readings])
    assert (clocks.samples, clocks.limited_samples, clocks.clock_deficit, clocks.suspect) == (5, 0, 0.0, "")


def test_a_power_cap_that_keeps_the_clock_near_its_maximum_is_limited_but_not_suspect() -> None:
    # The H100 at 20 frames: software power cap flagged in 24 of 36 samples, SM clock 1965-1980 of 1980 MHz.
    samples = [ClockSample(POWER_CAP, 1965, 1980)] * 24 + [ClockSample(0, 1980, 1980)] * 12
    clocks = summarize_clocks(samples)
    assert clocks.limited_samples == 24
    assert clocks.clock_deficit == pytest.approx(24 / 36 * (1 - 1965 / 1980))  # 0.5 %
    assert clocks.suspect == ""


def test_the_power_cap_of_a_gpu_at_its_default_power_limit_is_not_throttling() -> None:
    # The H100 at its default 700 W: attention at 100 frames sat at the cap with the clock 15 % below its maximum,
    # the same on every run, so such a case is recorded; heat or a lowered limit still makes it suspect.
    at_default = summarize_clocks([ClockSample(POWER_CAP, 1680, 1980, at_default_power_limit=True)] * 40)
    assert (at_default.limited_samples, at_default.clock_deficit, at_default.reasons) == (0, 0.0, ())
    assert at_default.power_capped_samples == 40  # recorded: the clock range shows what the cap cost
    assert at_default.suspect == ""
    lowered = summarize_clocks([ClockSample(POWER_CAP, 1680, 1980, at_default_power_limit=False)] * 40)
    assert lowered.reasons == ("software power cap",) and lowered.suspect
    assert (lowered.limited_samples, lowered.power_capped_samples) == (40, 0)
    hot = summarize_clocks([ClockSample(POWER_CAP | HW_THERMAL, 1680, 1980, at_default_power_limit=True)] * 40)
    assert hot.reasons == ("hardware thermal slowdown",)
    assert hot.clock_deficit == pytest.approx(1 - 1680 / 1980) and hot.suspect


def test_one_deep_dip_in_a_run_is_not_suspect_but_a_held_down_clock_is() -> None:
    dip = summarize_clocks([ClockSample(0, 1980, 1980)] * 35 + [ClockSample(POWER_CAP, 1875, 1980)])
    assert dip.clock_deficit < SUSPECT_CLOCK_DEFICIT and dip.suspect == ""
    held = summarize_clocks([ClockSample(POWER_CAP | HW_THERMAL, 1650, 1980)] * 30 + [ClockSample(0, 1980, 1980)] * 10)
    assert held.clock_deficit == pytest.approx(0.75 * (1 - 1650 / 1980))
    assert held.suspect == (
        "GPU clock held down by software power cap, hardware thermal slowdown: 12.5% below its maximum on average "
        "over 40 clock samples, SM clock 1650-1980 MHz"
    )


def test_without_the_maximum_the_highest_sampled_clock_is_the_reference() -> None:
    clocks = summarize_clocks([ClockSample(0, 1980), ClockSample(HW_THERMAL, 1584)])
    assert clocks.clock_deficit == pytest.approx(0.1)  # (1 - 1584 / 1980) / 2 samples
    assert clocks.reasons == ("hardware thermal slowdown",)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 0x7FF), st.integers(200, 1980), st.sampled_from([0, 1980]), st.booleans()),
        max_size=50,
    )
)
def test_the_deficit_is_the_mean_shortfall_of_limited_samples(readings: list[tuple[int, int, int, bool]]) -> None:
    clocks = summarize_clocks([ClockSample(*reading) for reading in readings])
    if not readings:
        assert clocks == Clocks()
        return
    highest = max(mhz for _, mhz, _, _ in readings)

    def throttling(reasons: int, at_default: bool) -> int:  # at the default limit the power cap is no throttle
        return reasons & THROTTLE_MASK & ~(POWER_CAP if at_default else 0)

    expected = sum(
        max(0.0, 1 - mhz / (peak or highest)) if throttling(reasons, default) else 0.0
        for reasons, mhz, peak, default in readings
    ) / len(readings)
    assert clocks.clock_deficit == pytest.approx(expected)
    assert bool(clocks.suspect) == (clocks.clock_deficit >= SUSPECT_CLOCK_DEFICIT)
    assert clocks.limited_samples == sum(bool(throttling(reasons, default)) for reasons, _, _, default in readings)
    assert clocks.power_capped_samples == sum(
        bool(default and reasons & POWER_CAP) for reasons, _, _, default in readings
    )
    assert set(clocks.reasons) <= set(THROTTLE_REASONS.values())
    assert clocks.sm_clock_min_mhz == min(mhz for _, mhz, _, _ in readings) <= clocks.sm_clock_max_mhz


# ---------------------------------------------------------------- the sampler


def test_a_cpu_run_samples_nothing_and_asks_no_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle, "_clock_reader", lambda device: pytest.fail("NVML asked on a CPU run"))
    with sampled_clocks(torch.device("cpu")) as samples:
        pass
    assert samples == []


def fake_pynvml(
    reasons: list[int],
    fail_init: bool = False,
    power_limits_mw: tuple[int | None, int | None] = (None, None),
    limit_reads: list[int] | None = None,
) -> types.SimpleNamespace:
    """nvidia-ml-py as far as the sampler uses it; each reading pops the next reasons, then raises. power_limits_mw:
    the enforced and default power limits, None where NVML refuses one; limit_reads collects each limit read."""
    pending = list(reasons)

    def init() -> None:
        if fail_init:
            raise RuntimeError("NVML Shared Library Not Found")

    def event_reasons(handle: object) -> int:
        if not pending:
            raise RuntimeError("NVMLError_Unknown")
        return pending.pop(0)

    def power_limit(which: int) -> Callable[[object], int]:
        def read(handle: object) -> int:
            if limit_reads is not None:
                limit_reads.append(which)
            milliwatts = power_limits_mw[which]
            if milliwatts is None:
                raise RuntimeError("NVMLError_NotSupported")
            return milliwatts

        return read

    return types.SimpleNamespace(
        nvmlInit=init,
        nvmlDeviceGetEnforcedPowerLimit=power_limit(0),
        nvmlDeviceGetPowerManagementDefaultLimit=power_limit(1),
        nvmlDeviceGetHandleByIndex=lambda index: "handle",
        nvmlDeviceGetHandleByUUID=lambda uuid: "handle",
        nvmlDeviceGetCurrentClocksEventReasons=event_reasons,
        nvmlDeviceGetClockInfo=lambda handle, clock: 1980,
        nvmlDeviceGetMaxClockInfo=lambda handle, clock: 1980,
        NVML_CLOCK_SM=0,
    )


def test_the_sampler_reads_nvml_while_the_block_runs_and_skips_refused_readings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml([0, HW_THERMAL]))
    monkeypatch.setattr(throttle, "device_uuid", lambda device: "")
    monkeypatch.setattr(throttle, "SAMPLE_INTERVAL_S", 0.001)
    with sampled_clocks(CUDA) as samples:
        time.sleep(0.05)  # the readings after the first two raise: the block still ends normally
    assert samples == [ClockSample(0, 1980, 1980), ClockSample(HW_THERMAL, 1980, 1980)]


@pytest.mark.parametrize(
    ("power_limits_mw", "at_default"),
    [
        ((700_000, 700_000), True),
        ((800_000, 700_000), True),  # raised above the default: the cap, if reached, is still not throttling
        ((500_000, 700_000), False),
        ((700_000, None), False),
        ((None, None), False),
    ],
    ids=["at-default", "raised", "lowered", "default-unknown", "both-unknown"],
)
def test_the_sampler_marks_readings_taken_at_the_default_power_limit(
    monkeypatch: pytest.MonkeyPatch, power_limits_mw: tuple[int | None, int | None], at_default: bool
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml([POWER_CAP], power_limits_mw=power_limits_mw))
    monkeypatch.setattr(throttle, "device_uuid", lambda device: "")
    with sampled_clocks(CUDA) as samples:
        time.sleep(0.01)
    assert samples == [ClockSample(POWER_CAP, 1980, 1980, at_default)]


def test_the_power_limits_are_read_once_per_case_not_per_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[int] = []
    fake = fake_pynvml([POWER_CAP] * 5, power_limits_mw=(700_000, 700_000), limit_reads=reads)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    monkeypatch.setattr(throttle, "device_uuid", lambda device: "")
    monkeypatch.setattr(throttle, "SAMPLE_INTERVAL_S", 0.001)
    with sampled_clocks(CUDA) as samples:
        time.sleep(0.05)
    assert len(samples) == 5 and sorted(reads) == [0, 1]


def test_without_nvml_the_sampler_samples_nothing_and_raises_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml([0], fail_init=True))
    with sampled_clocks(CUDA) as samples:
        pass
    assert samples == []


# ---------------------------------------------------------------- what the gate does with a suspect case

KEY = CaseKey("attention", "sdpa-math", 2, Resolution(126, 182))
THROTTLED = Clocks(
    samples=40,
    limited_samples=30,
    clock_deficit=0.125,
    reasons=("hardware thermal slowdown",),
    sm_clock_min_mhz=1650,
    sm_clock_max_mhz=1980,
)


def result(clocks: Clocks) -> CaseResult:
    return CaseResult(KEY, Outcome.OK, "fp32", summarize_rounds([0.1, 0.1, 0.1]), clocks=clocks)


def test_the_verdict_of_a_throttled_case_says_it_is_suspect() -> None:
    verdict = judge(result(THROTTLED), None)
    assert verdict.reason.endswith(f" [suspect: {THROTTLED.suspect}]")
    assert "suspect" not in judge(result(Clocks()), None).reason


def test_an_update_never_writes_a_throttled_case_and_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[list[str]] = []
    monkeypatch.setattr(
        "perf.pytest_plugin.update.update_baseline",
        lambda path, device, entries, *rest: written.append([entry.key.case_id for entry in entries]),
    )
    cool = dataclasses.replace(result(Clocks(samples=40)), key=dataclasses.replace(KEY, frames=4))
    at_cap = summarize_clocks([ClockSample(POWER_CAP, 1680, 1980, at_default_power_limit=True)] * 40)
    capped = dataclasses.replace(result(at_cap), key=dataclasses.replace(KEY, frames=8))
    options = types.SimpleNamespace(time_tolerance=0.05, memory_tolerance=0.02)
    measured = {case.key.case_id: MeasuredCase(case, case.key.backend) for case in (result(THROTTLED), cool, capped)}
    state = SuiteState(
        options=options,  # type: ignore[arg-type]
        workloads=WORKLOADS,
        backends=BACKENDS,
        profile="smoke",
        runtime=None,  # type: ignore[arg-type]
        device={"name": "cpu", "slug": "cpu"},
        cases=(),
        baseline_path=tmp_path / "cpu.json",
        record=RunRecord(environment={}, measured=measured),
    )
    notes = write_measured(state, "pytest --update-baselines")
    assert written == [[cool.key.case_id, capped.key.case_id]]  # the default power cap held it 15 % down: written
    assert notes == [
        f"vggt-perf: wrote 2 entries to {tmp_path / 'cpu.json'}",
        next(note for note in notes if note.startswith("vggt-perf: these entries are of one process each")),
        f"vggt-perf: {KEY.case_id} not written: suspect: {THROTTLED.suspect}; rerun it on a GPU that is not throttled",
    ]
