"""How many rounds a case gets and how long it warms up, on a fake clock."""

from __future__ import annotations

import time
import types
from collections.abc import Iterator

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import perf.timing
from perf.timing import RoundPolicy, plan_rounds, synchronized, warm_up


class FakeClock:
    """perf_counter that only moves when a fake forward runs, by the seconds it is told."""

    def __init__(self, durations_s: list[float], repeat_last: bool = True) -> None:
        self.now_s = 0.0
        self.forwards = 0
        self._durations: Iterator[float] = iter(durations_s)
        self._last = durations_s[-1]
        self._repeat_last = repeat_last

    def perf_counter(self) -> float:
        return self.now_s

    def run(self) -> None:
        self.forwards += 1
        try:
            self._last = next(self._durations)
        except StopIteration:
            if not self._repeat_last:
                raise AssertionError("warm_up ran more forwards than the test expected") from None
        self.now_s += self._last


@pytest.fixture
def clock_of(monkeypatch: pytest.MonkeyPatch):
    def install(durations_s: list[float], repeat_last: bool = True) -> FakeClock:
        clock = FakeClock(durations_s, repeat_last)
        monkeypatch.setattr(perf.timing, "time", types.SimpleNamespace(perf_counter=clock.perf_counter))
        return clock

    return install


# plan_rounds


@pytest.mark.parametrize(
    ("round_s", "rounds"),
    [(0.1, 20), (0.3, 7), (0.5, 4), (1.0, 3), (5.0, 3), (0.001, 100), (0.02, 100), (0.021, 96)],
)
def test_rounds_fill_the_budget_within_bounds(round_s: float, rounds: int) -> None:
    assert plan_rounds(round_s, RoundPolicy(max_time_s=2.0, min_rounds=3, max_rounds=100)) == rounds


@pytest.mark.parametrize("round_s", [0.0, -1.0])
def test_a_round_too_fast_to_measure_gets_the_most_rounds(round_s: float) -> None:
    assert plan_rounds(round_s, RoundPolicy(min_rounds=3, max_rounds=50)) == 50


def test_a_round_longer_than_the_budget_still_gets_the_least_rounds() -> None:
    assert plan_rounds(60.0, RoundPolicy(max_time_s=2.0, min_rounds=5)) == 5


@settings(max_examples=100, deadline=None)
@given(
    round_s=st.floats(min_value=1e-6, max_value=100.0),
    max_time_s=st.floats(min_value=0.01, max_value=60.0),
    min_rounds=st.integers(1, 20),
    extra_rounds=st.integers(0, 500),
)
def test_planned_rounds_stay_in_bounds_and_fill_the_budget_when_allowed(
    round_s: float, max_time_s: float, min_rounds: int, extra_rounds: int
) -> None:
    policy = RoundPolicy(max_time_s=max_time_s, min_rounds=min_rounds, max_rounds=min_rounds + extra_rounds)
    rounds = plan_rounds(round_s, policy)
    assert policy.min_rounds <= rounds <= policy.max_rounds
    if rounds < policy.max_rounds:
        assert rounds * round_s >= max_time_s * (1 - 1e-9)
    if rounds > policy.min_rounds:
        assert (rounds - 1) * round_s < max_time_s


# warm_up


def test_warm_up_runs_until_warmup_s_has_passed(clock_of) -> None:
    clock = clock_of([0.125])
    assert warm_up(clock.run, RoundPolicy(warmup_s=0.5, max_time_s=2.0)) == 0.125
    assert clock.forwards == 4


def test_warm_up_runs_twice_even_when_one_forward_exceeds_warmup_s(clock_of) -> None:
    clock = clock_of([1.0, 0.75], repeat_last=False)
    assert warm_up(clock.run, RoundPolicy(warmup_s=0.5, max_time_s=2.0)) == 0.75
    assert clock.forwards == 2


def test_warm_up_runs_twice_without_a_warmup_time(clock_of) -> None:
    clock = clock_of([0.01, 0.002], repeat_last=False)
    assert warm_up(clock.run, RoundPolicy(warmup_s=0.0, max_time_s=2.0)) == 0.002
    assert clock.forwards == 2


def test_warm_up_returns_the_last_forward_not_the_cold_first(clock_of) -> None:
    clock = clock_of([1.5, 0.25, 0.25, 0.125])
    assert warm_up(clock.run, RoundPolicy(warmup_s=2.1, max_time_s=2.0)) == 0.125
    assert clock.forwards == 4


def test_one_forward_that_fills_max_time_is_enough(clock_of) -> None:
    clock = clock_of([3.0], repeat_last=False)
    assert warm_up(clock.run, RoundPolicy(warmup_s=0.5, max_time_s=2.0)) == 3.0
    assert clock.forwards == 1


def test_a_forward_of_exactly_max_time_fills_the_budget(clock_of) -> None:
    clock = clock_of([2.0], repeat_last=False)
    assert warm_up(clock.run, RoundPolicy(warmup_s=1.0, max_time_s=2.0)) == 2.0
    assert clock.forwards == 1


def test_a_forward_filling_max_time_still_waits_for_warmup_s(clock_of) -> None:
    clock = clock_of([1.0])
    assert warm_up(clock.run, RoundPolicy(warmup_s=3.0, max_time_s=0.5)) == 1.0
    assert clock.forwards == 3


def test_warm_up_on_the_real_clock_returns_a_forward_time() -> None:
    calls: list[float] = []

    def run() -> None:
        calls.append(time.perf_counter())
        time.sleep(0.001)

    last = warm_up(run, RoundPolicy(warmup_s=0.005, max_time_s=2.0))
    assert len(calls) >= 2
    assert 0.001 <= last < 1.0


def test_synchronized_runs_the_forward_once_per_call() -> None:
    calls: list[str] = []
    run = synchronized(lambda: calls.append("forward"), torch.device("cpu"))
    assert calls == []
    assert run() is None
    run()
    assert calls == ["forward", "forward"]


def test_round_policy_defaults_are_documented_values() -> None:
    assert RoundPolicy() == RoundPolicy(warmup_s=0.5, max_time_s=2.0, min_rounds=3, max_rounds=100)
