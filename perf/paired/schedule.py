"""The order of a paired run's rounds and when they end: pure, so it is tested without processes or clocks.

Each side has N workers (--workers), paired base_i with head_i. Rounds go round-robin over the pairs, four at a
pair's turn in ABBA order (base_i, head_i, head_i, base_i; then pair i + 1, ...): within each turn a drift linear in
time costs both sides the same, each side gets its rounds at the same positions after the other's, and every worker
gets about as many rounds (at most two apart). With one worker per side this is plain ABBA, as before.

The suite's own stopping rule (perf.measure.timing.rounds_ended_by) decides for each side over the side's pooled
rounds (so --max-time and --max-rounds are per side, all its workers together), and a side never ends before each
of its workers has --min-rounds of its own; the rounds end once that has said enough for both sides, checked after
each pair of rounds, so both sides always have as many rounds.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from perf.measure.timing import RoundPolicy, RoundsEndedBy, rounds_ended_by


class Side(enum.Enum):
    BASE = "base"
    HEAD = "head"


_BLOCK = (Side.BASE, Side.HEAD, Side.HEAD, Side.BASE)


def side_of_turn(turn: int) -> Side:
    """Which side times round number `turn` (from 0) of a case: ABBA, repeated."""
    return _BLOCK[turn % len(_BLOCK)]


def worker_of_turn(turn: int, workers: int) -> int:
    """Which worker pair times round number `turn` (from 0): each pair a block of four ABBA rounds, round-robin."""
    return (turn // len(_BLOCK)) % workers


@dataclass(frozen=True)
class PairedRounds:
    """Both sides' rounds of one case: `order` is every round as it ran, (side, worker index, seconds)."""

    order: tuple[tuple[Side, int, float], ...]
    workers: int
    base_ended_by: RoundsEndedBy
    head_ended_by: RoundsEndedBy

    def samples_s(self, side: Side, worker: int | None = None) -> tuple[float, ...]:
        """The side's rounds in the order they ran: all of its workers', or one worker's."""
        return tuple(s for who, index, s in self.order if who is side and worker in (None, index))

    def by_worker(self, side: Side) -> tuple[tuple[float, ...], ...]:
        """Each of the side's workers' rounds, by worker index."""
        return _by_worker(self.order, side, self.workers)


def _by_worker(order: Sequence[tuple[Side, int, float]], side: Side, workers: int) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(s for who, index, s in order if who is side and index == worker) for worker in range(workers))


def side_ended(
    samples_by_worker: Sequence[Sequence[float]], policy: RoundPolicy, ended_before: RoundsEndedBy | None = None
) -> RoundsEndedBy | None:
    """Why one side's rounds are enough (None: not yet): the suite's rule over all its workers' rounds pooled, once
    every worker has policy.min_rounds of its own. A side keeps the reason it first had enough (ended_before)."""
    if ended_before is not None:
        return ended_before
    if any(len(samples) < policy.min_rounds for samples in samples_by_worker):
        return None
    return rounds_ended_by(tuple(s for samples in samples_by_worker for s in samples), policy)


def rounds_ended(
    base_s: Sequence[Sequence[float]],
    head_s: Sequence[Sequence[float]],
    policy: RoundPolicy,
    ended_before: tuple[RoundsEndedBy | None, RoundsEndedBy | None] = (None, None),
) -> tuple[RoundsEndedBy | None, RoundsEndedBy | None]:
    """Why each side's rounds are enough (None: not yet), each side given as its workers' rounds. A side keeps the
    reason it first had enough (ended_before): its later rounds are only there to match the other side's. Each
    side's time budget is its own rounds' seconds (policy.max_time_s per side, all its workers together)."""
    base, head = ended_before
    return (side_ended(base_s, policy, base), side_ended(head_s, policy, head))


def take_rounds(time_round: Callable[[Side, int], float], policy: RoundPolicy, workers: int = 1) -> PairedRounds:
    """Rounds from time_round (one synchronized forward of that side's worker, its seconds) over `workers` pairs,
    round-robin, ABBA within each pair's turn, until rounds_ended says enough for both sides, checked after each
    pair of rounds so both sides have as many."""
    if workers < 1:
        raise ValueError("a paired run needs at least one worker per side")
    order: list[tuple[Side, int, float]] = []
    ended: tuple[RoundsEndedBy | None, RoundsEndedBy | None] = (None, None)
    while True:
        for _ in range(2):
            turn = len(order)
            side, worker = side_of_turn(turn), worker_of_turn(turn, workers)
            order.append((side, worker, time_round(side, worker)))
        base_s, head_s = _by_worker(order, Side.BASE, workers), _by_worker(order, Side.HEAD, workers)
        ended = rounds_ended(base_s, head_s, policy, ended)
        base, head = ended
        if base is not None and head is not None:
            return PairedRounds(tuple(order), workers, base, head)
