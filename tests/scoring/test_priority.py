"""Priority: one number per row, from that row (and the rows merged into it) alone, whose order is the ranking.

Checked on the seed's nine items and on a few hundred random backlogs: sorting by the written number (after a
JSON round trip, as Notion stores it) gives the scorer's ranking, that ranking follows the seed's rules (P0 bugs,
then overrides, then the boosted score, then the older First Seen), and one row's edit changes no other row.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

import pytest

from scoring.models import Candidate
from scoring.policy import Policy
from scoring.priority import SCORE_CAP, TIER_SIZE, boost_digit, priority_parts, same_priority
from scoring.score import ScoreResult, score_backlog, score_rows
from tests.fixtures.seed_examples import seed_example_candidates

POLICY = Policy()
BACKLOGS = 300
CONFIDENCE_UP = {"20%": "50%", "50%": "80%", "80%": "100%", "100%": "100%"}


def random_backlog(rnd: random.Random, size: int) -> list[Candidate]:
    """Features, bugs, overrides, closed and merged rows, odd inputs: what a real backlog holds."""
    rows: list[Candidate] = []
    for i in range(size):
        kind = rnd.choice(["Feature"] * 6 + ["Bug", "Reliability", "Tech debt", "Compliance"])
        fields: dict[str, object] = {
            "page_id": f"page-{rnd.randrange(10**6):06d}-{i}",
            "name": f"Item {i}",
            "type": kind,
            "source_key": None if rnd.random() < 0.2 else f"zendesk:{rnd.randrange(10**5)}",
            "first_seen": None if rnd.random() < 0.3 else date(2025, 1, 1) + timedelta(days=rnd.randrange(60)),
            "strategic_override": rnd.random() < 0.08,
            "status": rnd.choice(["New", "Triaged", "Triaged", "Done", "Planned"]),
            "okrs": (rnd.choice(["O1", "O2", "O3", "O4", "O9"]),) if rnd.random() < 0.25 else (),
            "tags": ("churn-risk",) if rnd.random() < 0.1 else (),
        }
        if kind == "Bug":
            fields["severity"] = rnd.choice(["P0", "P1", "P2", None])
        else:
            fields["reach"] = rnd.choice(["10", "5", "3", "1", "0.5", None])
            fields["impact"] = rnd.choice(["3", "2", "1", "0.5"])
            fields["confidence"] = rnd.choice(["100%", "80%", "50%", "20%", None, "75%"])
            fields["effort"] = rnd.choice(["XS", "S", "M", "L", "XL", "4", "2.5"])
        if rows and rnd.random() < 0.1:
            fields["merged_into"] = (rnd.choice(rows).page_id,)
        rows.append(Candidate.model_validate(fields))
    return rows


def merged_below(candidate: Candidate, backlog: Sequence[Candidate]) -> list[Candidate]:
    """The rows merged into `candidate`, directly or through another merged row (its evidence)."""
    found: dict[str, Candidate] = {}
    todo = [candidate.page_id]
    while todo:
        target = todo.pop()
        for row in backlog:
            if target in row.merged_into and row.page_id not in found and row.page_id != candidate.page_id:
                found[row.page_id] = row
                todo.append(row.page_id)
    return list(found.values())


def merge_targets(candidate: Candidate, backlog: Sequence[Candidate]) -> set[str]:
    """The rows `candidate` is merged into, directly or through a chain of merges."""
    by_id = {c.page_id: c for c in backlog}
    found: set[str] = set()
    todo = list(candidate.merged_into)
    while todo:
        target = todo.pop()
        if target not in found:
            found.add(target)
            todo.extend(by_id[target].merged_into if target in by_id else ())
    return found


def written(results: Mapping[str, ScoreResult]) -> dict[str, float]:
    """The Priority values as Notion gives them back (a JSON number), for the rows that have one."""
    return {pid: json.loads(json.dumps(r.priority)) for pid, r in results.items() if r.priority is not None}


def seed_order_key(candidate: Candidate, result: ScoreResult) -> tuple[int, int, float, int]:
    """The seed's order, written independently of scoring.priority: group, boosted score, boost, age."""
    group = 0 if result.triage == "P0" else 1 if candidate.strategic_override else 2
    boosted = round((result.boosted or 0.0) * 100)
    boost = round((result.boosted or 0.0) / result.rice, 6) if result.rice else 1.0  # smaller boost: higher RICE
    age = candidate.first_seen.toordinal() if candidate.first_seen else 10**7
    return group, -boosted, boost, age


def assert_priority_is_the_ranking(candidates: Sequence[Candidate]) -> None:
    results = score_backlog(candidates, POLICY)
    values = written(results)
    by_priority = sorted(values, key=lambda pid: -values[pid])
    by_rank = sorted((pid for pid, r in results.items() if r.rank is not None), key=lambda pid: results[pid].rank or 0)
    assert by_priority == by_rank
    assert len(set(values.values())) == len(values), "two rows share a Priority: the view's order would be Notion's"
    by_id = {c.page_id: c for c in candidates}
    keys = [seed_order_key(by_id[pid], results[pid]) for pid in by_priority]
    assert keys == sorted(keys)


def test_seed_examples_sorted_by_priority_are_the_seed_ranking() -> None:
    seed = seed_example_candidates()
    assert_priority_is_the_ranking(seed)
    values = written(score_backlog(seed, POLICY))
    assert sorted(values, key=lambda pid: -values[pid]) == [
        "latency",
        "soc2",
        "webhooks",
        "escalation",
        "hipaa",
        "salesforce",
        "analytics",
        "multilang",
        "wakeword",
    ]
    assert values["webhooks"] == pytest.approx(1_006.67, abs=0.01)  # scored tier + boosted RICE 6.67


@pytest.mark.parametrize("seed", range(BACKLOGS))
def test_random_backlogs_sorted_by_priority_are_the_ranking(seed: int) -> None:
    rnd = random.Random(seed)
    assert_priority_is_the_ranking(random_backlog(rnd, rnd.randrange(5, 60)))


@pytest.mark.parametrize("seed", range(0, BACKLOGS, 10))
def test_each_row_is_scored_from_itself_and_its_merged_rows_alone(seed: int) -> None:
    backlog = random_backlog(random.Random(seed), 40)
    together = score_rows(backlog, POLICY)
    for candidate in backlog:
        alone = score_rows([candidate, *merged_below(candidate, backlog)], POLICY)[candidate.page_id]
        assert alone == together[candidate.page_id], candidate.page_id


@pytest.mark.parametrize("seed", range(0, BACKLOGS, 10))
def test_one_edit_changes_that_row_and_at_most_its_merge_target(seed: int) -> None:
    rnd = random.Random(seed)
    backlog = random_backlog(rnd, 40)
    before = score_rows(backlog, POLICY)
    index = rnd.randrange(len(backlog))
    row = backlog[index]
    edit = rnd.choice(
        [
            {"confidence": CONFIDENCE_UP.get(row.confidence or "", "50%")},
            {"strategic_override": not row.strategic_override},
            {"customer": "Acme Health"},  # evidence: counts for its merge target too
        ]
    )
    backlog[index] = row.model_copy(update=edit)
    after = score_rows(backlog, POLICY)
    changed = {pid for pid in before if before[pid] != after[pid]}
    assert changed <= {row.page_id, *merge_targets(row, backlog)}


def test_tiers_come_first_and_numbers_stay_exact_at_the_top() -> None:
    rows = [
        Candidate(page_id="p0", name="Outage", type="Bug", severity="P0"),
        Candidate(page_id="p1", name="Typo", type="Bug", severity="P1"),
        Candidate(page_id="ovr", name="CEO ask", type="Feature", strategic_override=True),
        Candidate(page_id="best", name="Huge", reach="10", impact="3", confidence="100%", effort="0.001"),
        Candidate(page_id="done", name="Done", reach="10", impact="3", confidence="100%", effort="S", status="Done"),
    ]
    results = score_backlog(rows, POLICY)
    assert [r.page_id for r in sorted(results.values(), key=lambda r: r.rank or 99)][:3] == ["p0", "ovr", "best"]
    assert results["best"].priority == pytest.approx(TIER_SIZE + SCORE_CAP, abs=0.01)  # capped at 999.99
    assert (results["p1"].priority, results["done"].priority) == (None, None)
    assert "Priority 3000.00: P0 bugs sort from 3000 up" in results["p0"].note
    top = [priority_parts(3, SCORE_CAP, 7, None, key) for key in ("a", "b")]
    lo, hi = sorted(top, key=lambda parts: parts.tie)
    assert hi.tie > lo.tie
    assert hi.value > lo.value  # one tie step apart is still two different doubles at the top of the range


def test_at_an_equal_boosted_score_the_higher_own_score_goes_first() -> None:
    """The demo's case: RICE 2.0 unboosted and RICE 1.33 × OKR 1.5 = 2.0 boosted; the seed ranks the 2.0 first."""
    plain = Candidate(page_id="plain", name="Export", reach="1", impact="2", confidence="100%", effort="1")
    boosted = Candidate(page_id="okr", name="Hand off", reach="1", impact="2", confidence="100%", effort="1.5")
    boosted = boosted.model_copy(update={"okrs": ("O1",), "first_seen": date(2020, 1, 1)})  # older, still second
    results = score_backlog([plain, boosted], POLICY)
    assert results["okr"].boosted == pytest.approx(results["plain"].boosted or 0.0)
    assert (results["plain"].rank, results["okr"].rank) == (1, 2)
    assert (
        boost_digit(1.0, POLICY.strategy) > boost_digit(1.5, POLICY.strategy) > boost_digit(1.5 * 1.3, POLICY.strategy)
    )


def test_written_priority_compares_exactly() -> None:
    value = priority_parts(1, 5.33, 0, date(2026, 1, 2), "zendesk:1").value
    assert same_priority(json.loads(json.dumps(value)), value)
    assert not same_priority(value + 1e-11, value)
    assert same_priority(None, None)
    assert not same_priority(None, value)
    assert not same_priority(value, None)
    assert not same_priority(True, 1.0)
