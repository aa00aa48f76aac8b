"""The `Priority` property: one sortable number per row that encodes the seed's order, from that row alone.

Why one number: a Notion view sorted by it IS the ranking, and a PM edit changes only the edited row's number
(a stored dense rank, "Rank 3 of 9", would rewrite every row below it). The number is built from three parts,
as decimal digits of one exact integer (below 2**53, so a double keeps every digit and the order is exact):

    Priority = tier × 1,000 + score after boosts (cents, capped at 999.99) + boost digit × 10^-3 + tie × 10^-12

- tier: 3 for a P0 bug, 2 for a Strategic Override, 1 for any other scored row (the seed's order);
- the score after boosts (RICE or ICE × OKR / competitive-loss / churn boosts) rounded to cents, so two rows
  whose scores differ by less than 0.005 tie, and the next digits decide;
- the boost digit: at an equal boosted score the row with the smaller boost (so the higher own score) first,
  as the seed's ranking always did; 0..7, one per combination of the three boosts in `backlog.toml`;
- the tie-break, 9 digits: the older First Seen first (5 digits: days from 2000 on, good until 2273), then 4
  digits of a hash of the Source Key (the page id for rows without one), stable across runs and machines.

Rows with no priority (closed, merged, P1/P2 bugs, unscored without an override) get an empty Priority.
See docs/priority.md for the view to make.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import date

from scoring.policy import Strategy

TIER_P0 = 3
TIER_OVERRIDE = 2
TIER_SCORED = 1
TIER_SIZE = 1_000  # each tier starts at tier × 1,000 in the written number
SCORE_CAP = 999.99  # a score after boosts above this sorts as equal to it (the seed's scales top out at 152)
TIE_SCALE = 1_000_000_000  # 9 tie-break digits after the boost digit
DIVISOR = 1_000 * TIE_SCALE  # cents, the boost digit, then the tie-break: 12 decimals in all
EPOCH = date(2000, 1, 1)
AGE_SPAN = 99_999  # days after EPOCH the age digits can tell apart
HASH_SPAN = 10_000
_FLAGS = tuple((okr, loss, churn) for okr in (False, True) for loss in (False, True) for churn in (False, True))


@dataclass(frozen=True)
class PriorityParts:
    """What the written number is made of, kept so the Score Note can explain it."""

    tier: int
    cents: int  # score after boosts, in hundredths
    boost: int  # 0..7: the smaller the boost, the higher
    tie: int  # 0 .. 10^9 - 1: age digits then hash digits

    @property
    def value(self) -> float:
        """The exact number written to Notion."""
        whole: int = ((self.tier * TIER_SIZE * 100 + self.cents) * 10 + self.boost) * TIE_SCALE + self.tie
        return whole / DIVISOR

    @property
    def shown(self) -> str:
        """The number as the note shows it: tier and score, the tie-break digits left out."""
        return f"{(self.tier * TIER_SIZE * 100 + self.cents) / 100:.2f}"


def tie_break(first_seen: date | None, key: str) -> int:
    """Older First Seen first (rows without one after every dated row), then a stable hash of the key."""
    age = 0 if first_seen is None else min(AGE_SPAN, max(0, AGE_SPAN - (first_seen - EPOCH).days))
    digest = int(hashlib.sha256(key.encode("utf-8")).hexdigest(), 16) % HASH_SPAN
    return age * HASH_SPAN + digest


def boost_digit(multiplier: float, strategy: Strategy) -> int:
    """0..7: this row's boost multiplier among every combination the policy allows, the largest first.

    At an equal boosted score the smaller boost means the higher own score, which the seed ranks first.
    """
    boosts = (strategy.okr_boost, strategy.competitive_loss_boost, strategy.churn_risk_boost)
    combos = {round(math.prod(b for b, on in zip(boosts, flags, strict=True) if on), 9) for flags in _FLAGS}
    ordered = sorted(combos | {round(multiplier, 9)}, reverse=True)
    return min(7, ordered.index(round(multiplier, 9)))


def priority_parts(tier: int, boosted: float | None, boost: int, first_seen: date | None, key: str) -> PriorityParts:
    """The parts of one row's Priority; `boosted` is the score after boosts (None: unscored override or bug)."""
    score = boosted if boosted is not None and math.isfinite(boosted) else 0.0
    cents = round(min(SCORE_CAP, max(0.0, score)) * 100)
    return PriorityParts(tier=tier, cents=cents, boost=boost, tie=tie_break(first_seen, key))


def same_priority(written: object, wanted: float | None) -> bool:
    """Whether the number Notion holds is the one the scorer wants (a JSON round trip keeps a double exact)."""
    if wanted is None or written is None or isinstance(written, bool) or not isinstance(written, int | float):
        return wanted is None and written is None
    return math.isclose(float(written), wanted, rel_tol=0.0, abs_tol=0.1 / DIVISOR)


__all__ = [
    "SCORE_CAP",
    "TIER_OVERRIDE",
    "TIER_P0",
    "TIER_SCORED",
    "TIER_SIZE",
    "PriorityParts",
    "boost_digit",
    "priority_parts",
    "same_priority",
    "tie_break",
]
