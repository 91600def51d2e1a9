"""The paired run's rounds: ABBA order round-robin over the worker pairs, and the suite's stopping rule applied to
both sides at once, over each side's pooled rounds with a minimum per worker."""

from __future__ import annotations

import itertools

from perf.measure.timing import RoundPolicy, RoundsEndedBy
from perf.paired.schedule import Side, rounds_ended, side_ended, side_of_turn, take_rounds, worker_of_turn

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
    assert rounds_ended([steady], [noisy], policy) == (RoundsEndedBy.PRECISION, None)
    assert rounds_ended([noisy], [steady], policy) == (None, RoundsEndedBy.PRECISION)
    assert rounds_ended([steady], [steady], policy) == (RoundsEndedBy.PRECISION, RoundsEndedBy.PRECISION)


def test_a_side_keeps_the_reason_it_first_had_enough() -> None:
    policy = RoundPolicy(max_time_s=100.0, min_rounds=3, max_rounds=50, precision=0.01)
    noisy = (1.0, 2.0) * 5
    ended = rounds_ended([noisy], [noisy], policy, (RoundsEndedBy.PRECISION, None))
    assert ended == (RoundsEndedBy.PRECISION, None)


def test_each_side_spends_its_own_time_budget() -> None:
    policy = RoundPolicy(max_time_s=10.0, min_rounds=3, max_rounds=50, precision=0.001)
    slow_noisy, fast_noisy = (1.0, 2.0, 1.5) * 3, (0.01, 0.02, 0.015) * 3
    # the fast side has spent 0.1 s of its 10
    assert rounds_ended([slow_noisy], [fast_noisy], policy) == (RoundsEndedBy.TIME_CAP, None)
    assert rounds_ended([slow_noisy], [slow_noisy], policy) == (RoundsEndedBy.TIME_CAP, RoundsEndedBy.TIME_CAP)


def test_no_side_stops_before_min_rounds() -> None:
    policy = RoundPolicy(max_time_s=0.0, min_rounds=10, max_rounds=50)
    assert rounds_ended([(1.0,) * 9], [(1.0,) * 10], policy) == (None, RoundsEndedBy.PRECISION)


def test_take_rounds_runs_abba_until_both_sides_end_with_as_many_rounds() -> None:
    noise = itertools.cycle((1.0, 1.3, 0.8))
    asked: list[Side] = []

    def time_round(side: Side, worker: int) -> float:
        assert worker == 0
        asked.append(side)
        return next(noise) * (0.001 if side is H else 1.0)  # head's are short: only the round cap ends them

    policy = RoundPolicy(max_time_s=5.0, min_rounds=4, max_rounds=12, precision=0.001)
    rounds = take_rounds(time_round, policy)
    assert [side for side, _, _ in rounds.order] == asked == [side_of_turn(t) for t in range(len(asked))]
    assert len(rounds.samples_s(B)) == len(rounds.samples_s(H)) == 12
    assert (rounds.base_ended_by, rounds.head_ended_by) == (RoundsEndedBy.TIME_CAP, RoundsEndedBy.ROUND_CAP)


def test_take_rounds_stops_at_min_rounds_when_both_sides_are_steady() -> None:
    rounds = take_rounds(lambda side, worker: 1.0, RoundPolicy(min_rounds=10, max_rounds=100, precision=0.01))
    assert len(rounds.order) == 20
    assert rounds.base_ended_by is rounds.head_ended_by is RoundsEndedBy.PRECISION


def test_rounds_go_round_robin_over_the_worker_pairs_abba_within_each_pairs_turn() -> None:
    turns = [(side_of_turn(t), worker_of_turn(t, 3)) for t in range(16)]
    assert turns[:12] == [
        (B, 0),
        (H, 0),
        (H, 0),
        (B, 0),
        (B, 1),
        (H, 1),
        (H, 1),
        (B, 1),
        (B, 2),
        (H, 2),
        (H, 2),
        (B, 2),
    ]
    assert turns[12:] == [(B, 0), (H, 0), (H, 0), (B, 0)]
    assert {worker_of_turn(t, 1) for t in range(16)} == {0}  # one worker a side: plain ABBA, as before


def test_a_side_waits_for_its_slowest_worker_to_reach_min_rounds_whatever_its_pool_says() -> None:
    policy = RoundPolicy(max_time_s=0.0, min_rounds=4, max_rounds=6, precision=0.01)
    # pooled the side has 11 steady rounds, beyond the round cap, but worker 2 has 3 of its own
    assert side_ended([(1.0,) * 4, (1.0,) * 4, (1.0,) * 3], policy) is None
    assert side_ended([(1.0,) * 4, (1.0,) * 4, (1.0,) * 4], policy) is RoundsEndedBy.ROUND_CAP
    assert side_ended([(1.0,) * 4, (1.0,) * 3], policy, RoundsEndedBy.TIME_CAP) is RoundsEndedBy.TIME_CAP


def test_the_stopping_rule_pools_a_sides_workers() -> None:
    policy = RoundPolicy(max_time_s=100.0, min_rounds=3, max_rounds=50, precision=0.01)
    # each worker alone is noisy at 3 rounds, but the pool's budget counts every worker's seconds
    assert side_ended([(1.0, 2.0, 1.5)], RoundPolicy(max_time_s=10.0, min_rounds=3, precision=0.001)) is None
    pooled_budget = RoundPolicy(max_time_s=10.0, min_rounds=3, max_rounds=50, precision=0.001)
    assert side_ended([(1.0, 2.0, 1.5)] * 3, pooled_budget) is RoundsEndedBy.TIME_CAP
    assert side_ended([(1.0,) * 3] * 3, policy) is RoundsEndedBy.PRECISION


def test_take_rounds_over_three_pairs_gives_every_worker_min_rounds_and_both_sides_as_many() -> None:
    asked: list[tuple[Side, int]] = []

    def time_round(side: Side, worker: int) -> float:
        asked.append((side, worker))
        return 1.0

    policy = RoundPolicy(max_time_s=100.0, min_rounds=5, max_rounds=100, precision=0.01)
    rounds = take_rounds(time_round, policy, workers=3)
    assert [(side, worker) for side, worker, _ in rounds.order] == asked
    assert asked == [(side_of_turn(t), worker_of_turn(t, 3)) for t in range(len(asked))]
    counts = {side: [len(samples) for samples in rounds.by_worker(side)] for side in Side}
    assert min(counts[B]) == min(counts[H]) == 5 and max(counts[B]) - min(counts[B]) <= 2
    assert len(rounds.samples_s(B)) == len(rounds.samples_s(H)) == sum(counts[B]) == sum(counts[H])
    assert rounds.base_ended_by is rounds.head_ended_by is RoundsEndedBy.PRECISION
