"""One summary per audience of the seed's distribution list."""

from __future__ import annotations

from datetime import date

import pytest

from scoring.audiences import AUDIENCES, StoryLines, UnknownAudienceError, audience_markdown, audience_name
from scoring.planner import SprintPlan, plan_sprint
from scoring.policy import Policy
from scoring.score import score_backlog
from tests.fixtures.seed_examples import seed_example_candidates

POLICY = Policy()


def seed_plan() -> SprintPlan:
    candidates = seed_example_candidates()
    return plan_sprint(candidates, score_backlog(candidates, POLICY), POLICY, 1, date(2026, 1, 12))


def test_names_and_aliases() -> None:
    assert AUDIENCES == ("engineering", "design", "sales", "leadership", "marketing")
    assert audience_name("CS") == "sales"
    assert audience_name(" Leadership ") == "leadership"
    with pytest.raises(UnknownAudienceError, match="use one of engineering, design"):
        audience_name("finance")


def test_engineering_has_the_full_detail_and_the_story_leadership_only_the_summary() -> None:
    story = StoryLines(rising=("barge-in: 4 this cycle (was 1) — spike",), changes=("New item: X.",))
    engineering = audience_markdown(seed_plan(), POLICY, "engineering", story)
    leadership = audience_markdown(seed_plan(), POLICY, "leadership", story)
    assert engineering.startswith("**Subject:")
    assert "barge-in: 4 this cycle" in engineering
    assert "barge-in: 4 this cycle" in leadership
    assert "New item: X." in engineering
    assert "New item: X." not in leadership
    assert "| Priority | Item |" in engineering
    assert "| Priority | Item |" not in leadership
    assert "Nothing rose this cycle." in audience_markdown(seed_plan(), POLICY, "leadership")


def test_sales_gets_what_is_coming_and_what_is_not() -> None:
    plan = seed_plan()
    sales = audience_markdown(plan, POLICY, "sales")
    assert "Coming this sprint (safe to tell customers)" in sales
    assert "Not this sprint (set expectations)" in sales
    for nb in plan.not_building:
        assert nb.candidate.name in sales
    assert "RICE" not in sales  # no scoring detail for customers


def test_design_lists_only_items_with_design_work_and_marketing_only_customer_facing_ones() -> None:
    plan = seed_plan()
    design = audience_markdown(plan, POLICY, "design")
    marketing = audience_markdown(plan, POLICY, "marketing")
    shown = [i.candidate.name for i in (*plan.items, *plan.stretch)]
    assert any(name in design for name in shown if "dashboard" in name.casefold() or "voice" in name.casefold()) or (
        "No item needs design this sprint." in design
    )
    assert "Webhook deliveries" not in design
    assert "HIPAA" not in marketing  # compliance work is not externally visible
