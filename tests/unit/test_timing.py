"""How many rounds a case gets and how long it warms up, on a fake clock."""

from __future__ import annotations

import time
import types
from collections.abc import Iterator

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import perf.measure.timing
from perf.measure.timing import (
    RoundPolicy,
    RoundsEndedBy,
    rounds_ended_by,
    synchronized,
    time_rounds,
    warm_up,
)


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
        monkeypatch.setattr(perf.measure.timing, "time", types.SimpleNamespace(perf_counter=clock.perf_counter))
        return clock

    return install


# the stop rule (the median's interval itself: test_stats)


POLICY = RoundPolicy(max_time_s=2.0, min_rounds=3, max_rounds=50, precision=0.01)
PRECISE = [1.0, 1.001, 0.999, 1.002, 0.998, 1.0005, 0.9995]  # the interval reaches 0.2 % from the median
PRECISE_TENTHS = [sample / 10 for sample in PRECISE]  # 0.7 s in all
NOISY = [0.1, 0.13, 0.08, 0.12, 0.09, 0.11, 0.07]  # 30 %; 0.7 s in all


def test_rounds_go_on_until_the_least_rounds_whatever_the_time() -> None:
    assert rounds_ended_by([10.0, 10.0], policy=POLICY) is None


def test_rounds_end_once_the_median_is_precise_enough_before_the_time_cap() -> None:
    assert rounds_ended_by(PRECISE_TENTHS, policy=POLICY) is RoundsEndedBy.PRECISION


def test_noisy_rounds_go_on_until_they_add_up_to_the_time_cap_and_say_so() -> None:
    assert rounds_ended_by(NOISY * 2, policy=POLICY) is None  # 1.4 s of rounds
    assert rounds_ended_by(NOISY * 3, policy=POLICY) is RoundsEndedBy.TIME_CAP  # 2.1 s


def test_rounds_never_exceed_the_round_cap() -> None:
    assert rounds_ended_by(NOISY[:1] * 70, policy=RoundPolicy(max_rounds=70, max_time_s=60)) is RoundsEndedBy.ROUND_CAP


def test_the_least_rounds_win_over_the_round_cap() -> None:
    policy = RoundPolicy(min_rounds=150, max_rounds=100, max_time_s=0.0)
    assert rounds_ended_by(NOISY[:1] * 120, policy=policy) is None
    assert rounds_ended_by(NOISY[:1] * 150, policy=policy) is RoundsEndedBy.ROUND_CAP


@settings(max_examples=100, deadline=None)
@given(
    rounds=st.integers(0, 120),
    min_rounds=st.integers(1, 10),
    max_rounds=st.integers(1, 100),
)
def test_the_stop_rule_keeps_its_bounds(rounds: int, min_rounds: int, max_rounds: int) -> None:
    policy = RoundPolicy(max_time_s=2.0, min_rounds=min_rounds, max_rounds=max_rounds)
    ended = rounds_ended_by(NOISY[:1] * rounds, policy)
    if rounds >= max(policy.max_rounds, policy.min_rounds):
        assert ended is RoundsEndedBy.ROUND_CAP
    elif rounds < policy.min_rounds:
        assert ended is None
    else:
        assert ended in {RoundsEndedBy.PRECISION, RoundsEndedBy.TIME_CAP, None}


class PedanticLikePytestBenchmark:
    """pytest-benchmark 5's pedantic as far as time_rounds relies on it: setup before each round, an exception marks
    the fixture errored and propagates, each completed round's seconds go to stats.stats.data."""

    def __init__(self, round_seconds: list[float]) -> None:
        self.round_seconds = iter(round_seconds)
        self.stats: types.SimpleNamespace | None = None
        self.has_error = False

    def pedantic(self, target, setup, rounds: int, iterations: int, warmup_rounds: int) -> None:
        assert (iterations, warmup_rounds) == (1, 0)
        self.stats = types.SimpleNamespace(stats=types.SimpleNamespace(data=[]))
        try:
            for _ in range(rounds):
                setup()
                target()
                self.stats.stats.data.append(next(self.round_seconds))
        except Exception:
            self.has_error = True
            raise


def test_time_rounds_stops_at_the_first_round_that_makes_the_median_precise() -> None:
    benchmark = PedanticLikePytestBenchmark(PRECISE_TENTHS + [0.1] * 50)
    assert time_rounds(benchmark, lambda: None, POLICY) is RoundsEndedBy.PRECISION
    assert benchmark.stats.stats.data == PRECISE_TENTHS[:6]  # 6 rounds: the first with a 95 % interval, within 1 %
    assert not benchmark.has_error  # the stop is not an error: pytest-benchmark reports these rounds


def test_time_rounds_stops_at_the_round_cap_and_never_runs_one_more() -> None:
    benchmark = PedanticLikePytestBenchmark(NOISY * 20)
    policy = RoundPolicy(max_time_s=60.0, min_rounds=3, max_rounds=12, precision=0.001)
    assert time_rounds(benchmark, lambda: None, policy) is RoundsEndedBy.ROUND_CAP
    assert len(benchmark.stats.stats.data) == 12 and not benchmark.has_error


def test_time_rounds_stops_when_the_rounds_add_up_to_the_time_cap() -> None:
    benchmark = PedanticLikePytestBenchmark(NOISY * 20)
    assert time_rounds(benchmark, lambda: None, POLICY) is RoundsEndedBy.TIME_CAP
    assert len(benchmark.stats.stats.data) == 20  # 0.7 s per 7 rounds: 2.03 s after 20


def test_an_error_inside_a_round_is_still_an_error() -> None:
    def failing() -> None:
        raise RuntimeError("CUDA error: an illegal memory access")

    benchmark = PedanticLikePytestBenchmark([1.0])
    with pytest.raises(RuntimeError, match="illegal memory access"):
        time_rounds(benchmark, failing, POLICY)
    assert benchmark.has_error


# warm_up


def test_warm_up_runs_until_warmup_s_has_passed(clock_of) -> None:
    clock = clock_of([0.125])
    warm_up(clock.run, RoundPolicy(warmup_s=0.5, max_time_s=2.0))
    assert clock.forwards == 4


def test_warm_up_runs_twice_even_when_one_forward_exceeds_warmup_s(clock_of) -> None:
    clock = clock_of([1.0, 0.75], repeat_last=False)
    warm_up(clock.run, RoundPolicy(warmup_s=0.5, max_time_s=2.0))
    assert clock.forwards == 2


def test_warm_up_runs_twice_without_a_warmup_time(clock_of) -> None:
    clock = clock_of([0.01, 0.002], repeat_last=False)
    warm_up(clock.run, RoundPolicy(warmup_s=0.0, max_time_s=2.0))
    assert clock.forwards == 2


def test_warm_up_returns_the_last_forward_not_the_cold_first(clock_of) -> None:
    clock = clock_of([1.5, 0.25, 0.25, 0.125])
    warm_up(clock.run, RoundPolicy(warmup_s=2.1, max_time_s=2.0))
    assert clock.forwards == 4


def test_one_forward_that_fills_max_time_is_enough(clock_of) -> None:
    clock = clock_of([3.0], repeat_last=False)
    warm_up(clock.run, RoundPolicy(warmup_s=0.5, max_time_s=2.0))
    assert clock.forwards == 1


def test_a_forward_of_exactly_max_time_fills_the_budget(clock_of) -> None:
    clock = clock_of([2.0], repeat_last=False)
    warm_up(clock.run, RoundPolicy(warmup_s=1.0, max_time_s=2.0))
    assert clock.forwards == 1


def test_a_forward_filling_max_time_still_waits_for_warmup_s(clock_of) -> None:
    clock = clock_of([1.0])
    warm_up(clock.run, RoundPolicy(warmup_s=3.0, max_time_s=0.5))
    assert clock.forwards == 3


def test_warm_up_on_the_real_clock_runs_until_warmup_s_has_passed() -> None:
    calls: list[float] = []

    def run() -> None:
        calls.append(time.perf_counter())
        time.sleep(0.001)

    started = time.perf_counter()
    warm_up(run, RoundPolicy(warmup_s=0.005, max_time_s=2.0))
    assert len(calls) >= 2
    assert time.perf_counter() - started >= 0.005


def test_synchronized_runs_the_forward_once_per_call() -> None:
    calls: list[str] = []
    run = synchronized(lambda: calls.append("forward"), torch.device("cpu"))
    assert calls == []
    assert run() is None
    run()
    assert calls == ["forward", "forward"]


def test_round_policy_defaults_are_documented_values() -> None:
    assert RoundPolicy() == RoundPolicy(warmup_s=0.5, max_time_s=5.0, min_rounds=3, max_rounds=100)
