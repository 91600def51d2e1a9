"""The paired run's rounds: ABBA order, and the suite's stopping rule applied to both sides at once."""

from __future__ import annotations

import itertools

from perf.measure.timing import RoundPolicy, RoundsEndedBy
from perf.paired.schedule import Side, rounds_ended, side_of_turn, take_rounds

B, H = Side.BASE, Side.HEAD


def test_rounds_alternate_base_head_head_base() -> None:
    assert [side_of_turn(turn) for turn in range(8)] == [B, H, H, B, B, H, H, B]


def test_abba_gives_a_linear_drift_to_both_sides_alike() -> None:
    positions = {side: sum(turn for turn in range(16) if side_of_turn(turn) is side) for side in Side}
    assert positions[B] == positions[H]


def test_the_rounds_go_on_while_one_side_still_needs_more() -> None:
    policy = RoundPolicy(max_time_s=100.0, min_rounds=3, max_rounds=50, precision=0.01)
    steady = (1.0,) * 10  # a median known exactly: enough
    noisy = (1.0, 2.0) * 5  # known within +-1 % only after many more
    assert rounds_ended(steady, noisy, policy) == (RoundsEndedBy.PRECISION, None)
    assert rounds_ended(noisy, steady, policy) == (None, RoundsEndedBy.PRECISION)
    assert rounds_ended(steady, steady, policy) == (RoundsEndedBy.PRECISION, RoundsEndedBy.PRECISION)


def test_a_side_keeps_the_reason_it_first_had_enough() -> None:
    policy = RoundPolicy(max_time_s=100.0, min_rounds=3, max_rounds=50, precision=0.01)
    noisy = (1.0, 2.0) * 5
    ended = rounds_ended(noisy, noisy, policy, (RoundsEndedBy.PRECISION, None))
    assert ended == (RoundsEndedBy.PRECISION, None)


def test_each_side_spends_its_own_time_budget() -> None:
    policy = RoundPolicy(max_time_s=10.0, min_rounds=3, max_rounds=50, precision=0.001)
    slow_noisy, fast_noisy = (1.0, 2.0, 1.5) * 3, (0.01, 0.02, 0.015) * 3
    # the fast side has spent 0.1 s of its 10
    assert rounds_ended(slow_noisy, fast_noisy, policy) == (RoundsEndedBy.TIME_CAP, None)
    assert rounds_ended(slow_noisy, slow_noisy, policy) == (RoundsEndedBy.TIME_CAP, RoundsEndedBy.TIME_CAP)


def test_no_side_stops_before_min_rounds() -> None:
    policy = RoundPolicy(max_time_s=0.0, min_rounds=10, max_rounds=50)
    assert rounds_ended((1.0,) * 9, (1.0,) * 10, policy) == (None, RoundsEndedBy.PRECISION)


def test_take_rounds_runs_abba_until_both_sides_end_with_as_many_rounds() -> None:
    noise = itertools.cycle((1.0, 1.3, 0.8))
    asked: list[Side] = []

    def time_round(side: Side) -> float:
        asked.append(side)
        return next(noise) * (0.001 if side is H else 1.0)  # head's are short: only the round cap ends them

    policy = RoundPolicy(max_time_s=5.0, min_rounds=4, max_rounds=12, precision=0.001)
    rounds = take_rounds(time_round, policy)
    assert [side for side, _ in rounds.order] == asked == [side_of_turn(t) for t in range(len(asked))]
    assert len(rounds.samples_s(B)) == len(rounds.samples_s(H)) == 12
    assert (rounds.base_ended_by, rounds.head_ended_by) == (RoundsEndedBy.TIME_CAP, RoundsEndedBy.ROUND_CAP)


def test_take_rounds_stops_at_min_rounds_when_both_sides_are_steady() -> None:
    rounds = take_rounds(lambda side: 1.0, RoundPolicy(min_rounds=10, max_rounds=100, precision=0.01))
    assert len(rounds.order) == 20
    assert rounds.base_ended_by is rounds.head_ended_by is RoundsEndedBy.PRECISION
