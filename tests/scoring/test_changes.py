"""Changed since the last grooming: the snapshot a sprint page records, compared with this report's."""

from __future__ import annotations

from datetime import date

from scoring.changes import FIRST_GROOMING, Snapshot, compare, take_snapshot
from scoring.models import Candidate
from scoring.planner import plan_sprint
from scoring.policy import Policy
from scoring.score import score_backlog

POLICY = Policy()
START_1, START_2 = date(2026, 1, 12), date(2026, 1, 26)


def feature(page_id: str, **fields: object) -> Candidate:
    base: dict[str, object] = {"reach": "5", "impact": "2", "confidence": "80%", "effort": "M", "type": "Feature"}
    base.update({"added": date(2026, 1, 1), **fields})
    return Candidate(page_id=page_id, name=page_id.title(), **base)


def snapshot(candidates: list[Candidate], sprint: int, start: date, themes: tuple[str, ...] = ()) -> Snapshot:
    scores = score_backlog(candidates, POLICY)
    plan = plan_sprint(candidates, scores, POLICY, sprint, start)
    return take_snapshot(plan, candidates, scores, themes)


def test_the_first_grooming_has_nothing_to_compare() -> None:
    now = snapshot([feature("a")], 1, START_1)
    assert compare(None, now, [feature("a")]) == [FIRST_GROOMING]


def test_new_items_moved_scores_with_the_input_that_moved_blockers_and_themes() -> None:
    before_rows = [feature("a"), feature("b"), feature("c", blocked_by="legal")]
    before = snapshot(before_rows, 1, START_1, ("barge-in",))
    now_rows = [
        feature("a", reach="10"),  # score moves: Reach 5 -> 10
        feature("b", blocked_by="vendor sandbox"),  # newly blocked
        feature("c"),  # unblocked
        feature("d", added=date(2026, 1, 20)),  # new since the last grooming
    ]
    now = snapshot(now_rows, 2, START_2, ("barge-in", "sso / okta"))
    lines = compare(before, now, now_rows)
    assert "New item: D." in lines
    assert "Score moved: A 2.7 → 5.3 (Reach 5 → 10)." in lines
    assert "Newly blocked: B." in lines
    assert "Unblocked: C." in lines
    assert "New theme: sso / okta." in lines
    assert not any("barge-in" in line for line in lines)


def test_items_that_became_zombies_and_nothing_changed() -> None:
    old = feature("old", first_seen=date(2025, 10, 1), effort="XL")
    filler = [feature(f"f{i}", reach="10", effort="L") for i in range(3)]
    rows = [old, *filler]
    early = snapshot(rows, 1, date(2025, 10, 20))
    late = snapshot(rows, 5, date(2025, 12, 15))
    assert "Became a zombie: Old." in compare(early, late, rows)
    assert compare(late, late, rows) == ["Nothing changed since sprint 5's grooming."]
