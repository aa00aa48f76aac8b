"""Scoring: the seed's RICE table, input validation, bug triage, strategy, icebox, evidence suggestions, ICE."""

from __future__ import annotations

import random
from datetime import date

import pytest

from scoring.evidence import gather_evidence, merged_children, segment_of, suggest_reach
from scoring.models import Candidate
from scoring.policy import Policy, Segments
from scoring.score import NOTE_LIMIT, ScoreResult, score_backlog
from scoring.tensions import tensions
from tests.fixtures.seed_examples import seed_example_candidates

POLICY = Policy()


def feature(page_id: str, name: str = "", /, **fields: object) -> Candidate:
    base: dict[str, object] = {"reach": "5", "impact": "2", "confidence": "80%", "effort": "M", "type": "Feature"}
    base.update(fields)
    return Candidate(page_id=page_id, name=name or page_id, **base)


def score_one(candidate: Candidate, policy: Policy = POLICY) -> ScoreResult:
    return score_backlog([candidate], policy)[candidate.page_id]


@pytest.mark.parametrize(
    ("page_id", "shown", "exact"),
    [
        ("latency", "5.0", 5.0),
        ("soc2", "3.0", 3.0),
        ("salesforce", "2.7", 5 * 2 * 0.8 / 3),
        ("analytics", "2.0", 2.0),
        ("hipaa", "2.4", 2.4),
        ("webhooks", "6.7", 10 / 1.5),
        ("multilang", "0.5", 0.5),
        ("wakeword", "0.2", 0.5 / 3),
        ("escalation", "5.3", 8 / 1.5),
    ],
)
def test_seed_example_table_is_reproduced(page_id: str, shown: str, exact: float) -> None:
    result = score_backlog(seed_example_candidates(), POLICY)[page_id]
    assert result.rice == pytest.approx(exact)  # the property keeps the unrounded value
    assert result.rice_display == shown
    assert f"RICE {shown} = " in result.note


def test_seed_ranking_puts_overrides_first_and_notes_name_no_other_row() -> None:
    results = score_backlog(seed_example_candidates(), POLICY)
    by_rank = sorted((r for r in results.values() if r.rank is not None), key=lambda r: r.rank or 0)
    assert [r.page_id for r in by_rank] == [
        "latency",
        "soc2",
        "webhooks",
        "escalation",
        "hipaa",  # 2.4 x OKR 1.5 = 3.6 passes Salesforce's 2.7
        "salesforce",
        "analytics",
        "multilang",
        "wakeword",
    ]
    assert [r.rank for r in by_rank] == list(range(1, 10))
    names = [c.name for c in seed_example_candidates()]
    for result in results.values():
        # The tension ("ranked above X") is the sprint page's now (scoring.tensions): a note names no neighbour.
        assert "Rank" not in result.note
        assert not [name for name in names if name in result.note], result.page_id
    assert "Boosted RICE 3.6 = RICE × OKR O3 ×1.5." in results["hipaa"].note
    assert "Priority 2007.50: Strategic Override items sort from 2000 up, + boosted RICE 7.50" in (
        results["latency"].note
    )


@pytest.mark.parametrize(
    ("fields", "expected_rice"),
    [
        ({"reach": "10.0"}, 10 * 2 * 0.8 / 3),
        ({"reach": "10 – all pilots"}, 10 * 2 * 0.8 / 3),  # en dash, as typed in Notion
        ({"reach": "0.5"}, 0.5 * 2 * 0.8 / 3),
        ({"impact": "3 - massive"}, 5 * 3 * 0.8 / 3),
        ({"confidence": "80"}, 5 * 2 * 0.8 / 3),
        ({"confidence": "0.8"}, 5 * 2 * 0.8 / 3),
        ({"confidence": "100"}, 5 * 2 * 1.0 / 3),
        ({"effort": "4"}, 5 * 2 * 0.8 / 4),
        ({"effort": "2.5"}, 5 * 2 * 0.8 / 2.5),
        ({"effort": "4 pw"}, 5 * 2 * 0.8 / 4),
        ({"effort": "xl (consider breaking down)"}, 5 * 2 * 0.8 / 10),
    ],
)
def test_select_values_are_read_leniently(fields: dict[str, str], expected_rice: float) -> None:
    result = score_one(feature("a", **fields))
    assert result.problems == ()
    assert result.rice == pytest.approx(expected_rice)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"reach": "7"}, "Reach '7' is not valid: use one of 10, 5, 3, 1, 0.5"),
        ({"reach": "10x"}, "Reach '10x' is not valid"),
        ({"impact": "huge"}, "Impact 'huge' is not valid: use one of 3, 2, 1, 0.5"),
        ({"confidence": "75%"}, "Confidence '75%' is not valid: use one of 100%, 80%, 50%, 20%"),
        ({"effort": "-1"}, "Effort '-1' is not valid: use one of XS, S, M, L, XL or a positive number"),
        ({"effort": "0"}, "Effort '0' is not valid"),
        ({"impact": None}, "Impact is empty: set one of 3, 2, 1, 0.5"),
        ({"effort": ""}, "Effort is empty: set one of XS, S, M, L, XL or a number of person-weeks"),
    ],
)
def test_invalid_input_is_named_and_not_guessed(fields: dict[str, str | None], message: str) -> None:
    result = score_backlog([feature("bad", **fields), feature("good")], POLICY)
    bad = result["bad"]
    assert bad.rice is None
    assert bad.rank is None
    assert bad.note.startswith("No RICE: ")
    assert message in bad.note
    assert "Not ranked until the inputs above are fixed." in bad.note
    assert result["good"].rank == 1  # the rest of the backlog is still scored and ranked


def test_bugs_are_triaged_by_severity_not_scored() -> None:
    rows = [
        feature("top-feature", reach="10", impact="3", confidence="100%", effort="XS"),
        Candidate(page_id="p0", name="Calls drop", type="Bug", severity="P0", reach="10", impact="3"),
        Candidate(page_id="p1", name="Typo in dashboard", type="bug", severity="p1 - soon"),
        Candidate(page_id="none", name="Odd echo", type="Bug"),
        Candidate(page_id="wrong", name="Noise", type="Bug", severity="P5"),
    ]
    results = score_backlog(rows, POLICY)
    assert results["p0"].triage == "P0"
    assert results["p0"].rank == 1  # ahead of the best-scored feature
    assert results["p0"].rice is None
    assert results["top-feature"].rank == 2
    assert results["p1"].triage == "P1"
    assert results["p1"].rank is None
    assert "next sprint" in results["p1"].note
    assert results["none"].triage is None
    assert "set Severity (P0/P1/P2)" in results["none"].note
    assert "Severity 'P5' is not valid: set Severity (P0/P1/P2)" in results["wrong"].note


def test_boosts_multiply_priority_and_unknown_okr_is_reported() -> None:
    plain = feature("plain", "Plain", effort="S")  # RICE 5*2*0.8/1.5 = 5.33
    boosted = feature("boosted", "Boosted", effort="M", okrs=("O2",), tags=("competitive_loss",))  # 2.67 × 1.95
    churn = feature("churn", "Renewal ask", effort="M", excerpt="Acme says renewal at risk without this")
    unknown = feature("unknown", "Unknown OKR", effort="M", okrs=("O9",))
    results = score_backlog([plain, boosted, churn, unknown], POLICY)
    assert results["boosted"].boosted == pytest.approx(5 * 2 * 0.8 / 3 * 1.5 * 1.3)
    assert results["churn"].boosted == pytest.approx(5 * 2 * 0.8 / 3 * 1.3)
    assert "churn risk (keyword 'renewal at risk') ×1.3" in results["churn"].note
    assert results["unknown"].boosted == pytest.approx(results["unknown"].rice or 0)
    assert "OKR 'O9' not in backlog.toml's OKRs (O1, O2, O3, O4)" in results["unknown"].note
    assert [results[p].rank for p in ("plain", "boosted")] == [1, 2]  # 5.33 beats 5.2: boosts are not overrides
    weaker = feature("weak-boost", "Weak", effort="M", okrs=("O1",), tags=("churn-risk", "competitive-loss"))
    assert score_backlog([plain, weaker], POLICY)["weak-boost"].rank == 1  # 2.67 × 2.535 = 6.76 > 5.33


def test_override_outranks_without_a_score_and_ties_are_deterministic() -> None:
    override_unscored = Candidate(page_id="o", name="CEO ask", type="Feature", strategic_override=True)
    twin_b = feature("b", "Same", first_seen=date(2026, 3, 1))
    twin_a = feature("a", "Same", first_seen=date(2026, 3, 2))
    results = score_backlog([twin_b, override_unscored, twin_a], POLICY)
    assert results["o"].rank == 1
    assert results["o"].rice is None
    assert "Priority 2000.00: Strategic Override items sort from 2000 up; no RICE yet" in results["o"].note
    assert (results["b"].rank, results["a"].rank) == (2, 3)  # same score: the older First Seen first
    # Same score, same day: the Source Key's hash decides, whatever the order the rows come in.
    same_day = [feature(f"t{i}", "Twin", first_seen=date(2026, 3, 1), source_key=f"zendesk:{i}") for i in range(6)]
    first = score_backlog(same_day, POLICY)
    assert len({r.priority for r in first.values()}) == 6
    assert score_backlog(list(reversed(same_day)), POLICY) == first
    line = tensions(["o"], [twin_b, override_unscored, twin_a], results, POLICY)
    expected = (
        "CEO ask is ranked above Same (RICE 2.7) and 1 more by Strategic Override — the seed's tension, surfaced, "
        "not resolved."
    )
    assert line == [expected]


def test_icebox_is_suggested_only_without_strategic_signal() -> None:
    idle = feature("idle", reach="1", impact="1", confidence="50%", effort="M")  # 0.17, no OKR
    aligned = feature("aligned", reach="1", impact="1", confidence="50%", effort="M", okrs=("O4",))
    results = score_backlog([idle, aligned], POLICY)
    assert results["idle"].icebox_suggested
    assert "Suggest Icebox: no OKR, competitive-loss or churn-risk signal and RICE 0.2 < 1" in results["idle"].note
    assert "Status is yours to change" in results["idle"].note
    assert not results["aligned"].icebox_suggested


def test_suggestions_use_merged_rows_and_are_marked() -> None:
    policy = Policy(segments=Segments(enterprise_pilots=["Acme Health", "Globex Bank"]))
    target = feature("t", "SSO for agents", reach=None, confidence=None, customer="Acme Health", source="Zendesk")
    dupe = Candidate(page_id="d", name="SSO please", customer="globex bank", source="Gong", merged_into=("t",))
    results = score_backlog([target, dupe], policy)
    result = results["t"]
    assert result.suggested == {"Confidence": "100%", "Reach": "3"}
    assert "Reach 3 (suggested: 2 pilot customers: Acme Health, globex bank)" in result.note
    assert "Confidence 100% (suggested: 2 independent sources: Gong, Zendesk)" in result.note
    assert "RICE uses suggested Reach and Confidence" in result.note
    assert result.rice == pytest.approx(3 * 2 * 1.0 / 3)
    assert results["d"].rank is None
    assert results["d"].rice is None
    assert results["d"].note == "Merged: its evidence counts for the row in Merged Into; not scored on its own."


def test_one_enterprise_pilot_beats_thirty_free_users() -> None:
    policy = Policy(segments=Segments(enterprise_pilots=["Acme Health"]))
    pilot = feature("pilot", "Pilot ask", reach=None, confidence=None, customer="Acme Health", source="Zendesk")
    crowd = feature("crowd", "Crowd ask", reach=None, confidence=None, source="Discord", segment="Free")
    free_users = [
        Candidate(page_id=f"f{i}", customer=f"dev{i}", segment="Free", source="Discord", merged_into=("crowd",))
        for i in range(30)
    ]
    results = score_backlog([pilot, crowd, *free_users], policy)
    assert results["pilot"].suggested["Reach"] == "1"
    assert results["crowd"].suggested["Reach"] == "0.5"
    assert (results["pilot"].rice or 0) > (results["crowd"].rice or 0)
    assert results["pilot"].rank == 1


@pytest.mark.parametrize(
    ("customers", "segment", "expected"),
    [
        ([f"pilot{i}" for i in range(15)], "Enterprise pilot", 5.0),  # all 15 pilots
        (["a", "b"], "Enterprise pilot", 3.0),
        (["a"], "Trial", 1.0),
        ([], "Internal", 0.5),
    ],
)
def test_reach_suggestion_follows_the_seed_table(customers: list[str], segment: str, expected: float) -> None:
    rows = [Candidate(page_id="t", segment=segment, customer=customers[0] if customers else "ops@us")]
    rows += [
        Candidate(page_id=f"m{i}", customer=c, segment=segment, merged_into=("t",)) for i, c in enumerate(customers)
    ]
    evidence = gather_evidence(rows[0], merged_children(rows), POLICY)
    suggestion = suggest_reach(evidence, POLICY)
    assert suggestion is not None
    assert suggestion.value == expected


def test_segment_comes_from_policy_lists_when_the_row_has_none() -> None:
    policy = Policy(segments=Segments(trials=["Initech"], internal_domains=["wavelength.ai"]))
    assert segment_of(Candidate(page_id="a", customer="initech"), policy) == "Trial"
    assert segment_of(Candidate(page_id="b", customer="amir@wavelength.ai"), policy) == "Internal"
    assert segment_of(Candidate(page_id="c", customer="Initech", segment="Enterprise pilot"), policy) == (
        "Enterprise pilot"
    )
    assert segment_of(Candidate(page_id="d", customer="Someone"), policy) == "Unknown"


def test_ice_framework_scores_high_medium_low() -> None:
    policy = Policy(framework="ice")
    rows = [
        Candidate(page_id="a", name="A", impact="High", confidence="high", effort="Low"),
        Candidate(page_id="b", name="B", impact="Medium", confidence="Medium", effort="High"),
        Candidate(page_id="c", name="C", impact="Huge", confidence="High", effort="Low"),
        Candidate(page_id="d", name="D", impact="High", effort="Medium", customer="Acme", source="Gong"),
    ]
    results = score_backlog(rows, policy)
    assert results["a"].rice == pytest.approx(9.0)
    assert results["a"].note.startswith("ICE 9.0 = Impact 3 × Confidence 3 / Effort 1")
    assert results["b"].rice == pytest.approx(4 / 3)
    assert "Impact 'Huge' is not valid: use one of High, Medium, Low" in results["c"].note
    assert results["d"].suggested == {"Confidence": "Medium"}  # one customer = 50 % = Medium
    assert [results[p].rank for p in "abd"] == [1, 3, 2]


def test_same_backlog_gives_identical_results_in_any_order() -> None:
    rows = [*seed_example_candidates(), feature("x", "X", reach=None, customer="Acme", source="G2")]
    first = score_backlog(rows, POLICY)
    shuffled = list(rows)
    random.Random(7).shuffle(shuffled)
    assert score_backlog(shuffled, POLICY) == first


def test_closed_rows_are_not_ranked_and_notes_stay_short() -> None:
    many = [
        Candidate(page_id=f"m{i}", customer=f"Customer {i} with a rather long account name", merged_into=("t",))
        for i in range(200)
    ]
    target = feature("t", "x" * 300, reach=None, confidence=None, okrs=tuple(f"Z{i}" for i in range(80)))
    done = feature("done", status="Done")
    results = score_backlog([target, done, *many], POLICY)
    assert len(results["t"].note) <= NOTE_LIMIT
    assert "+197 more" in results["t"].note
    assert results["t"].rank == 1
    assert results["done"].rank is None
    assert results["done"].note.endswith("Not ranked: Status is Done.")
