"""Sprint planner and stakeholder summary: the seed's nine items, capacity math, rules of thumb, Markdown."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta

import pytest

from scoring.capacity import sprints_waiting
from scoring.models import Candidate
from scoring.planner import SprintPlan, _fill, _Option, _size_tradeoff, capacity_steps, plan_sprint
from scoring.policy import Capacity, Policy
from scoring.score import ScoreResult, score_backlog
from scoring.summary import HEADINGS, build_summary, render_markdown
from tests.fixtures.seed_examples import seed_example_candidates

POLICY = Policy()
START = date(2026, 1, 12)


def plan_for(candidates: Sequence[Candidate], policy: Policy = POLICY, sprint: int = 7) -> SprintPlan:
    return plan_sprint(candidates, score_backlog(candidates, policy), policy, sprint, START)


def feature(page_id: str, name: str = "", /, **fields: object) -> Candidate:
    base: dict[str, object] = {"reach": "5", "impact": "2", "confidence": "80%", "effort": "M", "type": "Feature"}
    base.update(fields)
    return Candidate(page_id=page_id, name=name or page_id, **base)


def test_capacity_math_is_shown_step_by_step() -> None:
    steps, feature_capacity, limit = capacity_steps(Capacity())
    assert [(s.label, round(s.person_weeks, 2)) for s in steps] == [
        ("Team", 24.0),
        ("On-call", -1.6),
        ("Bugs and ops", -4.8),
        ("Meetings, reviews, overhead", -2.4),
        ("Days off", 0.0),
        ("Feature capacity", 15.2),
        ("Plan limit", 12.16),
    ]
    assert feature_capacity == pytest.approx(15.2)
    assert limit == pytest.approx(12.16)
    _, with_holidays, _ = capacity_steps(Capacity(days_off=10))
    assert with_holidays == pytest.approx(13.2)  # 10 person-days = 2 person-weeks


def test_seed_backlog_golden_plan() -> None:
    plan = plan_for(seed_example_candidates())
    assert plan.end == date(2026, 1, 25)
    assert plan.planned_effort <= plan.plan_limit
    assert plan.plan_limit == pytest.approx(12.16)
    assert plan.picked_page_ids == ("latency", "webhooks", "escalation", "hipaa")
    assert [item.priority for item in plan.items] == ["P0", "P1", "P1", "P2"]
    assert any(item.candidate.type == "Reliability" for item in plan.items)
    assert plan.tradeoffs[0] == (
        "Webhook reliability improvements has the highest RICE (6.7) but Latency optimization (streaming engine) "
        "and SOC 2 compliance implementation carry a strategic override."
    )
    assert "soc2" not in plan.picked_page_ids
    assert "salesforce" not in plan.picked_page_ids
    assert "SOC 2 compliance implementation is blocked by infra team logging changes" in " ".join(plan.risks)
    assert "Salesforce native integration is blocked by Salesforce developer sandbox" in " ".join(plan.risks)
    assert "Unblock SOC 2 compliance implementation: infra team logging changes." in plan.asks
    assert "A pilot customer to validate Improved escalation handoff flow before we build it." in plan.asks
    escalation = next(item for item in plan.items if item.candidate.page_id == "escalation")
    assert "no pilot customer lined up to validate" in escalation.notes
    # Multi-language (RICE 0.5, no OKR) is suggested for Icebox, so it is no stretch item.
    assert [item.candidate.page_id for item in plan.stretch] == ["analytics"]
    assert plan.waiting_page_ids == ("analytics", "multilang", "wakeword")
    assert {nb.candidate.page_id for nb in plan.not_building} == {"soc2", "salesforce", "multilang"}
    assert "12–14" in plan.capacity_note
    assert "15.2" in plan.capacity_note


def test_reliability_item_is_swapped_in_when_the_plan_is_full() -> None:
    rows = [
        feature("big", "Big feature", reach="10", impact="3", confidence="100%", effort="6", validation_customer="A"),
        feature("mid", "Mid feature", reach="10", impact="3", confidence="100%", effort="6", validation_customer="A"),
        feature("debt", "Retire old queue", type="Tech debt", reach="0.5", impact="1", confidence="50%", effort="S"),
    ]
    plan = plan_for(rows)
    assert set(plan.picked_page_ids) == {"big", "debt"}
    assert plan.planned_effort <= plan.plan_limit
    assert "Swapped in Retire old queue (Tech debt, rank 3) for Mid feature" in plan.tradeoffs[0]
    debt = next(item for item in plan.items if item.candidate.page_id == "debt")
    assert "keeps one reliability/tech-debt item in the sprint" in debt.notes


def test_overrides_are_never_swapped_out_for_the_reliability_rule() -> None:
    rows = [
        feature("o1", "Override one", effort="6", strategic_override=True),
        feature("o2", "Override two", effort="6", strategic_override=True),
        feature("rel", "Retry storms", type="Reliability", effort="S"),
    ]
    plan = plan_for(rows)
    assert plan.picked_page_ids == ("o1", "o2")
    assert any("Retry storms" in risk and "no reliability or tech-debt item" in risk for risk in plan.risks)


def test_p0_bug_goes_first_with_assumed_effort_and_p1_bugs_use_the_ops_share() -> None:
    rows = [
        *seed_example_candidates(),
        Candidate(page_id="p0", name="Calls drop at peak", type="Bug", severity="P0"),
        Candidate(page_id="p1", name="Wrong timezone", type="Bug", severity="P1", effort="XS"),
    ]
    plan = plan_for(rows)
    first = plan.items[0]
    assert first.candidate.page_id == "p0"
    assert first.priority == "P0"
    assert first.effort == 3
    assert "Effort not set: assumed M (3 pw), set Effort" in first.notes
    assert [bug.name for bug in plan.ops_bugs] == ["Wrong timezone"]
    assert "p1" not in plan.picked_page_ids
    assert plan.planned_effort <= plan.plan_limit


def test_zombies_and_xl_items_are_flagged() -> None:
    """Sprints waiting are derived from First Seen and the sprint calendar (2-week sprints), never stored."""
    low = {"reach": "1", "impact": "1", "confidence": "20%", "effort": "L"}
    rows = [
        feature("xl", "Rebuild dialer", effort="XL", okrs=("O1",), validation_customer="Acme"),
        feature("old", "Old ask", first_seen=START - timedelta(days=42), **low),  # 3 whole sprints before
        feature("fresh", "Fresh ask", first_seen=START - timedelta(days=41), **low),  # 2 sprints and 13 days
        feature("stored", "Legacy count", sprints_waiting=9, **low),  # an old stored count is not read
    ]
    plan = plan_for(rows)
    assert [z.candidate.page_id for z in plan.zombies] == ["old"]
    assert plan.zombies[0].text == "Old ask: waiting 3 sprints (since 2025-12-01), re-prioritize or kill."
    xl = next(item for item in plan.items if item.candidate.page_id == "xl")
    assert "XL: consider breaking down" in xl.notes


def test_sprints_waiting_counts_from_the_oldest_ask_or_the_last_planned_sprint() -> None:
    low = {"reach": "1", "impact": "1", "confidence": "20%", "effort": "L"}
    long_ago = START - timedelta(days=400)
    rows = [
        feature("anchor", "Fills the sprint", reach="10", impact="3", confidence="100%", effort="12"),
        feature("dupe-old", "Asked long ago", first_seen=START - timedelta(days=3), **low),
        Candidate(page_id="child", name="Same ask", first_seen=long_ago, merged_into=("dupe-old",)),
        feature("replanned", "Planned last sprint", first_seen=long_ago, sprint=6, **low),
        feature("slipped", "Planned in sprint 3", first_seen=long_ago, sprint=3, **low),
        feature("added", "Manual row", added=START - timedelta(days=70), **low),
        feature("blocked", "Blocked forever", first_seen=long_ago, blocked_by="legal", **low),
    ]
    plan = plan_for(rows, sprint=7)
    waiting = {z.candidate.page_id: z.sprints_waiting for z in plan.zombies}
    # The merged row's First Seen counts for its target; sprint 3 -> sprints 4, 5, 6 passed; blocked: a risk.
    assert waiting == {"dupe-old": 28, "slipped": 3, "added": 5}
    assert sprints_waiting(None, None, 7, START, Capacity()) == 0
    assert sprints_waiting(START + timedelta(days=1), None, 7, START, Capacity()) == 0
    assert sprints_waiting(START - timedelta(days=30), None, 7, START, Capacity(sprint_weeks=1)) == 4


def test_ranking_tensions_are_computed_for_the_items_on_the_page() -> None:
    plan = plan_for(seed_example_candidates())
    latency = (
        "Latency optimization (streaming engine) is ranked above Webhook reliability improvements (RICE 6.7) and "
        "1 more by Strategic Override — the seed's tension, surfaced, not resolved."
    )
    hipaa = (
        "HIPAA BAA documentation + controls is ranked above Salesforce native integration (RICE 2.7) by its "
        "boosts (OKR O3 ×1.5) — the seed's tension, surfaced, not resolved."
    )
    assert plan.tensions == (latency, hipaa)
    assert "### Why this order: ranked above a higher score" in render_markdown(plan, POLICY)
    assert "Why this order" not in render_markdown(plan, POLICY, audience="leadership")


def test_nothing_fits_gives_an_empty_plan_with_a_reason() -> None:
    rows = [feature("a", "Giant A", effort="20"), feature("b", "Giant B", effort="15")]
    plan = plan_for(rows)
    assert plan.items == ()
    assert plan.planned_effort == 0
    assert plan.empty_reason is not None
    assert "Nothing fits the plan limit of 12.2 pw" in plan.empty_reason
    assert "Giant B, needs 15 pw" in plan.empty_reason
    assert plan.waiting_page_ids == ("b", "a")  # 15 pw ranks above 20 pw
    assert plan.stretch == ()
    markdown = render_markdown(plan, POLICY)
    assert plan.empty_reason in markdown


def test_not_building_lists_the_most_asked_items_first() -> None:
    rows = [
        feature("win", "Small win", effort="XS", reach="10", impact="3", confidence="100%"),
        feature("asked", "Much asked", effort="20", votes=40, customer="Acme", okrs=("O4",)),
        Candidate(page_id="dupe", customer="Globex", merged_into=("asked",)),
        feature("quiet", "Quiet", effort="20", votes=1),
    ]
    plan = plan_for(rows)
    first = plan.not_building[0]
    assert first.candidate.page_id == "asked"
    assert first.demand == "asked by 2 customers, 40 votes, 1 merged duplicate"
    assert "needs 20 pw" in first.reason


def test_markdown_follows_the_seed_template_for_each_audience() -> None:
    plan = plan_for(seed_example_candidates())
    engineering = render_markdown(plan, POLICY)
    leadership = render_markdown(plan, POLICY, audience="leadership")
    assert "**Subject: Voice Agents Sprint 7 Priorities — 2026-01-12**" in engineering
    for heading in HEADINGS:
        assert f"**{heading}**" in engineering
        assert f"**{heading}**" in leadership
    table_header = "| Priority | Item | RICE | Strategic Alignment | Effort | Owner | Notes |"
    assert table_header in engineering
    assert "| Stretch | Custom analytics dashboard | 2.0 |" in engineering
    assert "### Capacity math" in engineering
    assert table_header not in leadership
    assert "Capacity math" not in leadership
    assert "carry a strategic override" in leadership
    summary = build_summary(plan, POLICY)
    assert summary.building[0].startswith("Latency optimization (streaming engine) (P0, 6 pw, RICE 5.0)")


def test_plan_is_deterministic() -> None:
    rows = seed_example_candidates()
    assert plan_for(rows) == plan_for(list(reversed(rows)))


# ------------------------------------------------------------------------------------------ estimate buffers
def test_an_estimate_buffer_adds_its_share_to_items_of_that_team_or_type_and_shows_in_the_capacity_math() -> None:
    policy = Policy(capacity=Capacity(buffers={"ML": 0.5}))
    ml = feature("ml", "Barge-in model", owners=("ML",), effort="M")
    other = feature("other", "Webhook retries", effort="M")
    plan = plan_for([ml, other], policy)
    efforts = {item.candidate.page_id: item.effort for item in (*plan.items, *plan.stretch)}
    assert efforts == {"ml": 4.5, "other": 3.0}  # M = 3 pw, +50 % for ML only
    assert plan.planned_effort == 7.5
    ml_item = next(i for i in plan.items if i.candidate.page_id == "ml")
    assert "estimate +50 % (ML buffer)" in ml_item.notes
    step = plan.capacity_steps[-1]
    assert (step.label, step.person_weeks) == ("Estimate buffers", 0.0)
    assert "ML +50 %" in step.explanation
    assert "Estimate buffers" in render_markdown(plan, policy)


def test_without_buffers_estimates_and_capacity_steps_are_unchanged() -> None:
    plan = plan_for([feature("ml", "Barge-in model", owners=("ML",))])
    assert plan.items[0].effort == 3.0
    assert "Estimate buffers" not in [s.label for s in plan.capacity_steps]


def test_a_buffer_matches_the_type_case_insensitively_and_the_largest_applies() -> None:
    policy = Policy(capacity=Capacity(buffers={"tech debt": 0.2, "Infra": 1.0}))
    item = feature("td", "Split the monolith", type="Tech debt", owners=("infra",), effort="S")
    assert plan_for([item], policy).items[0].effort == 3.0  # 1.5 pw × (1 + 1.0)


def options(n: int, seed: int) -> list[_Option]:
    """A backlog of `n` ranked options of mixed sizes (some unsized), in rank order."""
    rng = random.Random(seed)
    built = []
    for rank in range(1, n + 1):
        effort = rng.choice([None, 0.5, 1.0, 2.0, 3.5, 5.0, 8.0])
        result = ScoreResult(page_id=f"p{rank}", rice=1.0, rank=rank, note="", icebox_suggested=False)
        built.append(_Option(Candidate(page_id=f"p{rank}", name=f"Item {rank}"), result, effort))
    return built


def test_greedy_fill_and_size_tradeoff_match_the_per_item_recount() -> None:
    """One pass with a running total picks what re-summing the picks for every option picked (and names the same
    skipped item), on backlogs of many sizes."""
    for n, limit in ((1, 2.0), (40, 10.0), (400, 30.0), (3000, 55.5)):
        order = options(n, n)
        picked: list[_Option] = []
        _fill(order, picked, limit, skip={"p3"})
        reference: list[_Option] = []
        for option in order:  # the recount: planned effort summed again for every option
            fits = sum(o.effort or 0.0 for o in reference) + (option.effort or 0.0) <= limit + 1e-9
            if option.candidate.page_id != "p3" and option.effort is not None and fits:
                reference.append(option)
        assert picked == reference
        ids = {o.candidate.page_id for o in picked}
        expected = next(
            (
                o
                for o in order
                if o.candidate.page_id not in ids and o.effort is not None and any(p.rank > o.rank for p in picked)
            ),
            None,
        )
        line = _size_tradeoff(order, picked, ids)
        assert (line is None) == (expected is None)
        assert expected is None or (line or "").startswith(f"{expected.candidate.name} (rank {expected.rank},")
