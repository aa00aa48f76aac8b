"""The sprint page renderer is pure: the same plan gives the same blocks and fingerprint, a changed plan another.

That is what lets `backlog report` skip rewriting a page whose content did not change (see test_report.py).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import date

from scoring.audiences import StoryLines
from scoring.changes import CHANGE_LINES, STATE_IDS, compare, take_snapshot
from scoring.models import Candidate
from scoring.planner import SprintPlan, plan_sprint
from scoring.policy import Policy
from scoring.score import score_backlog
from scoring.summary import shown
from service.notion.calls import blocks_in
from service.notion.pages import MAX_BLOCKS_PER_REQUEST, block_text
from service.pipelines.sprint_page import (
    ESCALATION_HEADING,
    FINGERPRINT_PREFIX,
    NO_ESCALATIONS,
    PageStory,
    dump_state,
    fingerprint,
    load_state,
    render_sprint_page,
)
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


# ------------------------------------------------------------------------------------------ the story sections
def _texts(page_blocks: Sequence[dict[str, object]]) -> list[str]:
    return [block_text(dict(b)) for b in page_blocks]


def test_the_page_has_rising_changes_a_toggle_per_audience_the_state_and_the_log_last() -> None:
    story = PageStory(
        StoryLines(("sso: 3 this cycle (new this cycle)",), ("New item: X.",)), "backlog grooming state {}"
    )
    page = render_sprint_page(plan_for(seed_example_candidates()), POLICY, candidates=9, story=story)
    texts = _texts(page.blocks)
    assert texts.index("What's rising") + 1 == texts.index("sso: 3 this cycle (new this cycle)")
    assert texts.index("Changed since the last grooming") + 1 == texts.index("New item: X.")
    toggles = [t for b, t in zip(page.blocks, texts, strict=True) if b["type"] == "toggle"]
    assert toggles == [
        "Leadership version (summary only — copy into the email)",
        "Engineering (full detail) version",
        "Design (items with design work) version",
        "Sales + CS (what is coming, to set customer expectations) version",
        "Marketing (externally visible items) version",
    ]
    assert texts[-2:] == [ESCALATION_HEADING, NO_ESCALATIONS]
    assert "backlog grooming state {}" in texts
    logged = PageStory(story.lines, story.state, ("2026-01-14 proposed: Escalate X",))
    assert (
        _texts(render_sprint_page(plan_for(seed_example_candidates()), POLICY, candidates=9, story=logged).blocks)[-1]
        == "2026-01-14 proposed: Escalate X"
    )


def test_the_first_page_says_there_is_nothing_to_compare() -> None:
    texts = _texts(render_sprint_page(plan_for(seed_example_candidates()), POLICY, candidates=9).blocks)
    assert texts[texts.index("Changed since the last grooming") + 1] == "First grooming: nothing to compare."


def test_the_recorded_state_reads_back_as_it_was_written() -> None:
    candidates = seed_example_candidates()
    scores = score_backlog(candidates, POLICY)
    snap = take_snapshot(plan_sprint(candidates, scores, POLICY, 1, START), candidates, scores, ("sso",))
    text = dump_state(snap)
    back = load_state(text)
    assert back is not None
    assert dump_state(back) == text
    assert back.blocked
    assert back.themes == frozenset({"sso"})
    assert load_state("backlog grooming state {not json") is None
    assert load_state("Stakeholder summary") is None


# ------------------------------------------------------------------------------------------ bounded at any size
def big_backlog(n: int) -> list[Candidate]:
    """`n` rows a year old (zombies), every tenth blocked, every seventh without Effort, every ninth a P1/P2 bug:
    each list the page shows grows with `n` unless it is bounded."""
    rows = []
    for i in range(n):
        kind = "Bug" if i % 9 == 0 else "Feature"
        rows.append(
            Candidate(
                page_id=f"row-{i:05d}",
                name=f"Request {i}",
                type=kind,
                severity=("P1" if i % 2 else "P2") if kind == "Bug" else None,
                reach=str(1 + i % 10),
                impact="2",
                confidence="80%",
                effort=None if i % 7 == 0 else "M",
                blocked_by="vendor" if i % 10 == 0 else None,
                first_seen=date(2025, 1, 1),
                added=date(2025, 1, 1),
            )
        )
    return rows


def page_for(n: int) -> tuple[int, int, int]:
    """(top-level blocks, every block, characters of the recorded state) of sprint 2's page over `n` rows."""
    candidates = big_backlog(n)
    scores = score_backlog(candidates, POLICY)
    plan = plan_sprint(candidates, scores, POLICY, 2, START)
    themes = tuple(f"theme {i}" for i in range(n // 10))
    state = dump_state(take_snapshot(plan, candidates, scores, themes))
    changes = tuple(f"Newly blocked: Request {i}." for i in range(n // 10))
    story = PageStory(StoryLines((), shown(changes, "…and {n} more changes.", CHANGE_LINES)), state)
    page = render_sprint_page(plan, POLICY, candidates=n, story=story)
    assert len(plan.zombies) > n // 10  # the lists do grow with the backlog
    assert len(plan.risks) > n // 10
    return len(page.content), blocks_in(page.content), len(state)


def test_the_page_has_the_same_number_of_blocks_at_300_and_3000_candidates() -> None:
    small, large = page_for(300), page_for(3000)
    assert small[:2] == large[:2]
    assert large[0] <= MAX_BLOCKS_PER_REQUEST  # the whole page goes in the create call
    assert large[2] < 40_000  # the state block: bounded lists, well under Notion's 100 x 2,000 characters


def test_the_recorded_state_marks_cut_lists_and_claims_no_newly_lines_for_them() -> None:
    candidates = big_backlog(3000)
    scores = score_backlog(candidates, POLICY)
    now = take_snapshot(plan_sprint(candidates, scores, POLICY, 2, START), candidates, scores)
    back = load_state(dump_state(now))
    assert back is not None
    assert back.cut == frozenset({"blocked", "zombies"})
    assert len(back.blocked) == len(back.zombies) == STATE_IDS
    lines = compare(back, now, candidates)
    assert not [line for line in lines if line.startswith(("Newly blocked", "Became a zombie", "Unblocked"))]
    unblocked = next(iter(sorted(back.blocked)))
    freed = [c.model_copy(update={"blocked_by": None}) if c.page_id == unblocked else c for c in candidates]
    later = take_snapshot(plan_sprint(freed, score_backlog(freed, POLICY), POLICY, 2, START), freed, scores)
    assert f"Unblocked: Request {int(unblocked.split('-')[1])}." in compare(back, later, freed)
