"""The sprint page renderer is pure: the same plan gives the same blocks and fingerprint, a changed plan another.

That is what lets `backlog report` skip rewriting a page whose content did not change (see test_report.py).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import date

from scoring.models import Candidate
from scoring.planner import SprintPlan, plan_sprint
from scoring.policy import Policy
from scoring.score import score_backlog
from service.pipelines.sprint_page import FINGERPRINT_PREFIX, fingerprint, render_sprint_page
from tests.fixtures.seed_examples import seed_example_candidates

POLICY = Policy()
START = date(2026, 1, 12)


def plan_for(candidates: Sequence[Candidate], sprint: int = 1) -> SprintPlan:
    return plan_sprint(candidates, score_backlog(candidates, POLICY), POLICY, sprint, START)


def test_the_same_plan_renders_the_same_blocks_and_fingerprint() -> None:
    plan = plan_for(seed_example_candidates())
    first = render_sprint_page(plan, POLICY, candidates=9)
    again = render_sprint_page(plan_for(seed_example_candidates()), POLICY, candidates=9)  # planned afresh
    assert first == again
    assert first.fingerprint == fingerprint(first.blocks) == fingerprint(copy.deepcopy(list(again.blocks)))
    assert len(first.fingerprint) == 16
    assert first.title == "Sprint 1 — 2026-01-12 to 2026-01-25"


def test_rendering_leaves_the_plan_untouched() -> None:
    plan = plan_for(seed_example_candidates())
    before = copy.deepcopy(plan)
    render_sprint_page(plan, POLICY, candidates=9)
    assert plan == before


def test_a_changed_plan_changes_the_fingerprint() -> None:
    seed = seed_example_candidates()
    base = render_sprint_page(plan_for(seed), POLICY, candidates=9).fingerprint
    unblocked = [c.model_copy(update={"blocked_by": None}) if c.page_id == "salesforce" else c for c in seed]
    renamed = [c.model_copy(update={"name": "Faster streaming"}) if c.page_id == "latency" else c for c in seed]
    others = {
        render_sprint_page(plan_for(unblocked), POLICY, candidates=9).fingerprint,
        render_sprint_page(plan_for(renamed), POLICY, candidates=9).fingerprint,
        render_sprint_page(plan_for(seed, sprint=2), POLICY, candidates=9).fingerprint,
    }
    assert base not in others
    assert len(others) == 3


def test_the_header_carries_the_fingerprint_and_the_count_does_not_change_it() -> None:
    plan = plan_for(seed_example_candidates())
    nine = render_sprint_page(plan, POLICY, candidates=9)
    ten = render_sprint_page(plan, POLICY, candidates=10)
    assert nine.fingerprint == ten.fingerprint
    assert nine.blocks == ten.blocks
    header = "".join(t["text"]["content"] for t in ten.header["callout"]["rich_text"])
    assert "from 10 candidates" in header
    assert header.endswith(f"({FINGERPRINT_PREFIX}{ten.fingerprint})")
    assert ten.content == [ten.header, *ten.blocks]


def test_the_table_lists_planned_then_stretch_items_linked_to_their_rows() -> None:
    seed = [c.model_copy(update={"url": f"https://notion.test/{c.page_id}"}) for c in seed_example_candidates()]
    plan = plan_for(seed)
    page = render_sprint_page(plan, POLICY, candidates=len(seed))
    (table,) = [block for block in page.blocks if block["type"] == "table"]
    rows = [row["table_row"]["cells"] for row in table["table"]["children"]]
    assert [cell[0]["text"]["content"] for cell in rows[0]] == [
        "Priority",
        "Item",
        "RICE",
        "Strategic Alignment",
        "Effort",
        "Owner",
        "Notes",
    ]
    items = (*plan.items, *plan.stretch)
    assert [cells[1][0]["text"]["link"]["url"] for cells in rows[1:]] == [item.candidate.url for item in items]
    assert [cells[0][0]["text"]["content"] for cells in rows[1:]] == [item.priority for item in items]
