"""Escalations mid-sprint (seed step 5): what would be dropped to make room for an urgent item.

Pure. The escalated item needs its effort; what the sprint has free under the plan limit pays first, then the
lowest-priority planned items are dropped, lowest first, until their effort covers the rest. P0 items (P0 bugs,
overrides, the top item) are never dropped. Nothing is decided here: the PM confirms with `--apply`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scoring.models import Candidate
from scoring.scales import fmt1, num

_EPSILON = 1e-9


@dataclass(frozen=True)
class Committed:
    """One item the sprint already holds: its effort, its rank now, and whether it may be dropped."""

    candidate: Candidate
    effort: float
    rank: int | None
    protected: bool = False  # P0 bugs and overrides are never dropped


@dataclass(frozen=True)
class Escalation:
    """The trade-off of one escalation: the item, its effort, what it drops, and whether that makes room."""

    item: Candidate
    effort: float
    free: float
    drops: tuple[Committed, ...]
    fits: bool
    already_planned: bool = False

    @property
    def text(self) -> str:
        name = self.item.name
        if self.already_planned:
            return f"{name} is already planned this sprint: nothing to drop."
        if not self.drops and self.fits:
            return (
                f"Escalate {name} ({num(self.effort)} pw): fits in the {fmt1(self.free)} pw still free, drops nothing."
            )
        dropped = ", ".join(f"{d.candidate.name} (rank {d.rank or '—'}, {num(d.effort)} pw)" for d in self.drops)
        if not self.fits:
            return (
                f"Escalate {name} ({num(self.effort)} pw): does not fit even after dropping every droppable item "
                f"({dropped or 'none'}); split it or raise capacity."
            )
        return f"Escalate {name} ({num(self.effort)} pw): drop {dropped} to make room ({fmt1(self.free)} pw was free)."


def escalate(item: Candidate, effort: float, committed: Sequence[Committed], limit: float) -> Escalation:
    """The lowest-priority committed items whose effort covers what the free capacity does not."""
    if any(c.candidate.page_id == item.page_id for c in committed):
        return Escalation(item, effort, 0.0, (), True, already_planned=True)
    free = max(0.0, limit - sum(c.effort for c in committed))
    needed = effort - free
    drops: list[Committed] = []
    lowest_first = sorted(committed, key=lambda c: (-(c.rank if c.rank is not None else 1 << 30), c.candidate.page_id))
    for option in lowest_first:
        if needed <= _EPSILON:
            break
        if option.protected:
            continue
        drops.append(option)
        needed -= option.effort
    return Escalation(item, effort, free, tuple(drops), fits=needed <= _EPSILON)


__all__ = ["Committed", "Escalation", "escalate"]
