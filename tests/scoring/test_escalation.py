"""Escalations mid-sprint: the lowest-priority committed items whose effort covers the urgent one, never a P0."""

from __future__ import annotations

from scoring.escalation import Committed, escalate
from scoring.models import Candidate


def item(page_id: str) -> Candidate:
    return Candidate(page_id=page_id, name=page_id.title())


COMMITTED = [
    Committed(item("top"), 6.0, 1, protected=True),
    Committed(item("second"), 3.0, 2),
    Committed(item("third"), 1.5, 4),
    Committed(item("fourth"), 1.5, 3),
]  # 12 pw committed


def test_an_item_that_fits_in_the_free_capacity_drops_nothing() -> None:
    result = escalate(item("urgent"), 1.0, COMMITTED, 13.0)
    assert (result.drops, result.fits, result.free) == ((), True, 1.0)
    assert "drops nothing" in result.text


def test_the_lowest_priority_items_are_dropped_until_their_effort_covers_it() -> None:
    result = escalate(item("urgent"), 3.0, COMMITTED, 12.0)
    assert [d.candidate.page_id for d in result.drops] == ["third", "fourth"]  # rank 4 then rank 3: 3 pw
    assert result.fits
    assert result.text.startswith("Escalate Urgent (3 pw): drop Third (rank 4, 1.5 pw), Fourth (rank 3, 1.5 pw)")


def test_a_protected_item_is_never_dropped_and_too_big_says_so() -> None:
    result = escalate(item("urgent"), 10.0, COMMITTED, 12.0)
    assert "top" not in [d.candidate.page_id for d in result.drops]
    assert not result.fits
    assert "does not fit" in result.text


def test_an_item_already_in_the_sprint_needs_nothing() -> None:
    result = escalate(item("second"), 3.0, COMMITTED, 12.0)
    assert result.already_planned
    assert result.drops == ()
