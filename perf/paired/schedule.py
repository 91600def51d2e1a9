"""The order of a paired run's rounds and when they end: pure, so it is tested without processes or clocks.

Rounds alternate ABBA (base, head, head, base, ...): a drift linear in time costs each side the same over every
block of four, and each side gets its rounds at the same positions after the other's. The suite's own stopping rule
(perf.measure.timing.rounds_ended_by) decides for each side; the rounds end once it has said enough for both,
checked after each pair of rounds, so both sides always have as many rounds.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from perf.measure.timing import RoundPolicy, RoundsEndedBy, rounds_ended_by


class Side(enum.Enum):
    BASE = "base"
    HEAD = "head"


_BLOCK = (Side.BASE, Side.HEAD, Side.HEAD, Side.BASE)


def side_of_turn(turn: int) -> Side:
    """Which side times round number `turn` (from 0) of a case: ABBA, repeated."""
    return _BLOCK[turn % len(_BLOCK)]


@dataclass(frozen=True)
class PairedRounds:
    """Both sides' rounds of one case: `order` is every round as it ran, (side, seconds)."""

    order: tuple[tuple[Side, float], ...]
    base_ended_by: RoundsEndedBy
    head_ended_by: RoundsEndedBy

    def samples_s(self, side: Side) -> tuple[float, ...]:
        return tuple(seconds for who, seconds in self.order if who is side)


def rounds_ended(
    base_s: tuple[float, ...],
    head_s: tuple[float, ...],
    policy: RoundPolicy,
    ended_before: tuple[RoundsEndedBy | None, RoundsEndedBy | None] = (None, None),
) -> tuple[RoundsEndedBy | None, RoundsEndedBy | None]:
    """Why each side's rounds are enough (None: not yet). A side keeps the reason it first had enough
    (ended_before): its later rounds are only there to match the other side's. Each side's time budget is its own
    rounds' seconds (policy.max_time_s per side)."""
    base, head = ended_before
    return (base or rounds_ended_by(base_s, policy), head or rounds_ended_by(head_s, policy))


def take_rounds(time_round: Callable[[Side], float], policy: RoundPolicy) -> PairedRounds:
    """Rounds from time_round (one synchronized forward of that side, its seconds) in ABBA order until
    rounds_ended says enough for both sides, checked after each pair so both sides have as many."""
    order: list[tuple[Side, float]] = []
    ended: tuple[RoundsEndedBy | None, RoundsEndedBy | None] = (None, None)
    while True:
        for _ in range(2):
            side = side_of_turn(len(order))
            order.append((side, time_round(side)))
        base_s = tuple(s for who, s in order if who is Side.BASE)
        head_s = tuple(s for who, s in order if who is Side.HEAD)
        ended = rounds_ended(base_s, head_s, policy, ended)
        base, head = ended
        if base is not None and head is not None:
            return PairedRounds(tuple(order), base, head)
