"""Lost deals: counted, summed and named from the row and the rows merged into it; the boost they give."""

from __future__ import annotations

import pytest

from scoring.deals import is_lost_deal, lost_deal_evidence, lost_deal_line, money_short, reason_theme
from scoring.evidence import merged_children
from scoring.models import Candidate
from scoring.policy import Policy
from scoring.score import score_backlog
from scoring.tensions import tensions
from tests.fixtures.seed_examples import seed_example_candidates

POLICY = Policy()
LATENCY = "zendesk-latency"


def candidate(**fields: object) -> Candidate:
    base: dict[str, object] = {
        "page_id": LATENCY,
        "name": "Voice agent responds too slowly",
        "source": "Zendesk",
        "reach": "5",
        "impact": "2",
        "confidence": "80%",
        "effort": "M",
        "type": "Feature",
    }
    base.update(fields)
    return Candidate(**base)  # type: ignore[arg-type]


def deal(page_id: str, reason: str, amount: float | None, target: str = LATENCY, **fields: object) -> Candidate:
    base: dict[str, object] = {
        "page_id": page_id,
        "name": f"Lost deal: {reason}" if not reason.lower().startswith("lost") else reason,
        "source": "Salesforce",
        "deal_amount": amount,
        "merged_into": (target,) if target else (),
        "status": "Merged",
    }
    base.update(fields)
    return Candidate(**base)  # type: ignore[arg-type]


HOOLI = deal("sf-hooli", "Lost to PolyAI: first-response latency in the bake-off (1.1s vs 0.4s)", 240_000.0)
SOYLENT = deal("sf-soylent", "Latency: callers talked over the agent in the pilot; went with Retell", 180_000.0)


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (950, "$950"),
        (1_500, "$1.5k"),
        (9_400, "$9.4k"),
        (95_000, "$95k"),
        (240_000, "$240k"),
        (420_000, "$420k"),
        (999_999, "$1M"),
        (1_200_000, "$1.2M"),
        (12_345_678, "$12.3M"),
    ],
)
def test_money_is_formatted_as_a_sentence_says_it(amount: float, shown: str) -> None:
    assert money_short(amount) == shown


@pytest.mark.parametrize(
    ("reason", "theme"),
    [
        ("Lost to PolyAI: first-response latency in the bake-off (1.1s vs 0.4s)", "latency"),
        ("Latency: callers talked over the agent in the pilot; went with Retell", "latency"),
        ("No Salesforce integration for call summaries", "integrations"),
        ("Too expensive per minute", "pricing"),
        ("Budget frozen until next fiscal year", "budget"),
        ("Champion left the company", None),
    ],
)
def test_loss_reason_is_named_from_its_text(reason: str, theme: str | None) -> None:
    assert reason_theme(reason) == theme


def test_two_merged_lost_deals_make_one_line_with_the_sum_and_the_reason() -> None:
    rows = [candidate(), HOOLI, SOYLENT]
    assert lost_deal_line(rows[0], merged_children(rows)) == "lost 2 deals worth $420k to latency"
    evidence = lost_deal_evidence(rows[0], merged_children(rows))
    assert evidence is not None
    assert (evidence.count, evidence.amount, evidence.short()) == (2, 420_000.0, "2 lost deals ($420k)")


def test_line_names_several_reasons_and_unknown_amounts() -> None:
    vandelay = deal("sf-vandelay", "No Salesforce integration for call summaries", 95_000.0)
    unpriced = deal("sf-unpriced", "Champion left the company", None)
    rows = [candidate(), HOOLI, SOYLENT, vandelay, unpriced]
    line = lost_deal_line(rows[0], merged_children(rows))
    assert line == "lost 4 deals worth $515k (+1 of unknown amount) to latency and integrations"


def test_one_deal_without_amount_or_known_reason() -> None:
    alone = deal("sf-1", "Champion left the company", None, target="")
    assert lost_deal_line(alone, {}) == "lost 1 deal"


def test_no_deals_no_line_and_rows_merged_elsewhere_do_not_count() -> None:
    elsewhere = deal("sf-elsewhere", "latency", 50_000.0, target="another-row")
    rows = [candidate(), elsewhere]
    assert lost_deal_line(rows[0], merged_children(rows)) is None
    assert lost_deal_evidence(rows[0], merged_children(rows)) is None


def test_a_deal_is_known_by_source_or_tag_not_by_keyword() -> None:
    assert is_lost_deal(HOOLI)
    assert is_lost_deal(candidate(source="Manual", tags=("lost_deal",)))
    assert not is_lost_deal(candidate(name="We lost deal after deal to latency"))


def test_amount_falls_back_to_the_excerpt_for_rows_synced_before_deal_amount() -> None:
    old = deal("sf-old", "latency", None, excerpt="Lost deal Hooli (Hooli): latency\nAmount: $240,000 · Stage: Lost")
    rows = [candidate(), old]
    assert lost_deal_line(rows[0], merged_children(rows)) == "lost 1 deal worth $240k to latency"


def test_merged_lost_deals_give_the_competitive_loss_boost_and_raise_priority() -> None:
    plain = candidate()
    before = score_backlog([plain], POLICY)[LATENCY]
    after = score_backlog([plain, HOOLI, SOYLENT], POLICY)[LATENCY]
    assert after.rice == before.rice  # the RICE the PM sees is unchanged; the boost makes the priority
    assert after.boosted == pytest.approx((before.boosted or 0) * POLICY.strategy.competitive_loss_boost)
    assert (after.priority or 0) > (before.priority or 0)
    assert "competitive loss: 2 lost deals ($420k) ×1.3" in after.note
    assert "competitive loss" not in before.note


def test_the_boost_is_counted_once_however_many_deals() -> None:
    one = score_backlog([candidate(), HOOLI], POLICY)[LATENCY]
    two = score_backlog([candidate(), HOOLI, SOYLENT], POLICY)[LATENCY]
    assert one.boosted == two.boosted
    assert "competitive loss: 1 lost deal ($240k) ×1.3" in one.note


def test_a_lost_deal_scored_on_its_own_is_boosted_by_its_source() -> None:
    alone = deal(
        "sf-alone",
        "Champion left the company",
        60_000.0,
        target="",
        reach="1",
        impact="1",
        confidence="50%",
        effort="S",
        type="Feature",
        status="Triaged",
    )
    result = score_backlog([alone], POLICY)["sf-alone"]
    assert "competitive loss: 1 lost deal ($60k) ×1.3" in result.note
    assert "Suggest Icebox" not in result.note  # a lost deal is a strategic signal


def test_priority_of_a_row_depends_only_on_its_own_deals() -> None:
    other = candidate(page_id="other", name="Other ask")
    alone = score_backlog([candidate(), other], POLICY)["other"]
    with_deals = score_backlog([candidate(), other, HOOLI, SOYLENT], POLICY)["other"]
    assert (alone.priority, alone.note) == (with_deals.priority, with_deals.note)


def test_seed_rows_without_deals_keep_their_golden_rice_and_notes() -> None:
    results = score_backlog(seed_example_candidates(), POLICY)
    shown = [
        results[p].rice_display
        for p in (
            "latency",
            "soc2",
            "salesforce",
            "analytics",
            "hipaa",
            "webhooks",
            "multilang",
            "wakeword",
            "escalation",
        )
    ]
    assert shown == ["5.0", "3.0", "2.7", "2.0", "2.4", "6.7", "0.5", "0.2", "5.3"]
    assert not any("competitive loss:" in r.note for r in results.values())


def test_the_tension_line_names_the_lost_deals_boost() -> None:
    higher = candidate(page_id="higher", name="Higher RICE", reach="3", impact="2", confidence="80%", effort="S")
    rows = [candidate(), higher, HOOLI, SOYLENT]
    scores = score_backlog(rows, POLICY)
    assert (scores["higher"].rice or 0) > (scores[LATENCY].rice or 0)
    [line] = tensions([LATENCY], rows, scores, POLICY)
    assert "by its boosts (competitive loss: 2 lost deals ($420k) ×1.3)" in line


def test_the_stakeholder_summary_quotes_the_lost_deals_of_a_planned_item() -> None:
    """Issue 15: the sprint summary says what sales lost to the ask, in money ("lost 2 deals worth $420k")."""
    from datetime import date

    from scoring.planner import plan_sprint
    from scoring.summary import render_markdown

    rows = [candidate(), HOOLI, SOYLENT]
    plan = plan_sprint(rows, score_backlog(rows, POLICY), POLICY, 1, date(2026, 11, 23))
    assert [item.candidate.page_id for item in plan.items] == [LATENCY]
    assert plan.items[0].lost_deals == "lost 2 deals worth $420k to latency"
    assert "lost 2 deals worth $420k to latency" in render_markdown(plan, POLICY, audience="leadership")
    # Without the deals, nothing is claimed.
    alone = [candidate()]
    bare = plan_sprint(alone, score_backlog(alone, POLICY), POLICY, 1, date(2026, 11, 23))
    assert "lost" not in render_markdown(bare, POLICY, audience="leadership")
