"""`backlog score` end to end on the in-process Notion sandbox: the seed's nine items, scored where the PM works.

The helpers here (`seed_backlog`, `rows_by_key`, `new_gateway`) also build the backlog for the report and
webhook end-to-end tests.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from scoring.policy import Policy
from service.notion import NotionGateway, Row, RowWrite
from service.notion import database as database_module
from service.pipelines.score import ScoreReport, run_score
from service.settings import Settings
from tests.fixtures.seed_examples import seed_example_candidates

POLICY = Policy()
# The seed's "Example Scoring" table (one decimal) and the value Notion keeps (two decimals).
SEED_RICE = {
    "latency": (5.0, 5.0),
    "soc2": (3.0, 3.0),
    "salesforce": (2.7, 2.67),
    "analytics": (2.0, 2.0),
    "hipaa": (2.4, 2.4),
    "webhooks": (6.7, 6.67),
    "multilang": (0.5, 0.5),
    "wakeword": (0.2, 0.17),
    "escalation": (5.3, 5.33),
}
# Overrides first, then priority (RICE after the OKR boost: HIPAA 2.4 x 1.5 = 3.6 passes Salesforce 2.7): the
# order of a view sorted by Priority, descending. Rank itself is not stored any more.
SEED_RANK = {
    "latency": 1,
    "soc2": 2,
    "webhooks": 3,
    "escalation": 4,
    "hipaa": 5,
    "salesforce": 6,
    "analytics": 7,
    "multilang": 8,
    "wakeword": 9,
}
SCORER_OWNED = {"RICE", "Priority", "Score Note"}


def no_sleep(_seconds: float) -> None:
    """Injected instead of `time.sleep`: the client-side rate limiter never really waits in tests."""


def new_gateway(sandbox_path: Path, **settings: Any) -> NotionGateway:
    """A fresh gateway on the sandbox file, as a new `backlog` process would build it (NOTION_TOKEN unset)."""
    return NotionGateway.from_settings(Settings(backlog_sandbox_path=sandbox_path, **settings), sleep=no_sleep)


def pm_edit(gateway: NotionGateway, page_id: str, values: dict[str, Any]) -> None:
    """The PM editing a row. The gateway's update_properties writes any property it is given (the ownership
    rule lives in the pipelines), so it stands in for the PM typing in Notion."""
    gateway.update_properties(page_id, values, what="the PM editing a row (test)")


def seed_backlog(gateway: NotionGateway) -> dict[str, str]:
    """Create the database and the seed's nine rows (sync writes, then the PM's inputs): key -> page id."""
    gateway.init_database()
    candidates = seed_example_candidates()
    writes = [
        RowWrite(
            f"manual:{c.page_id}",
            {"Name": c.name, "Source": "Manual", "Customer": "Acme Health", "Excerpt": f"{c.name} (seed example)"},
            {"Status": "New", "Type": c.type},
        )
        for c in candidates
    ]
    result = gateway.upsert(writes)
    assert not result.failed, result.failed
    ids = {key.removeprefix("manual:"): page_id for key, page_id in result.created}
    for c in candidates:
        values: dict[str, Any] = {
            "Reach": c.reach,
            "Impact": c.impact,
            "Confidence": c.confidence,
            "Effort": c.effort,
            "OKR": list(c.okrs),
            "Strategic Override": c.strategic_override,
        }
        if c.blocked_by:
            values["Blocked By"] = c.blocked_by
        if c.validation_customer:
            values["Validation Customer"] = c.validation_customer
        pm_edit(gateway, ids[c.page_id], values)
    return ids


def rows_by_key(gateway: NotionGateway) -> dict[str, Row]:
    """Every row, by the seed key in its Source Key (read back from Notion, not from memory)."""
    return {str(row.source_key).removeprefix("manual:"): row for row in gateway.iter_rows()}


def priority_ranks(rows: dict[str, Row]) -> dict[str, int]:
    """What a Notion view sorted by Priority, descending, shows: key -> position (rows without Priority left out)."""
    ranked = sorted(
        (key for key, row in rows.items() if row.get("Priority") is not None), key=lambda k: -rows[k].get("Priority")
    )
    return {key: position for position, key in enumerate(ranked, start=1)}


@pytest.fixture
def sandbox_path(tmp_path: Path) -> Path:
    return tmp_path / "s.sqlite3"


@pytest.fixture
def seeded(sandbox_path: Path) -> dict[str, str]:
    with new_gateway(sandbox_path) as gateway:
        return seed_backlog(gateway)


def test_seed_items_are_scored_in_notion_and_a_second_run_writes_nothing(
    sandbox_path: Path, seeded: dict[str, str]
) -> None:
    gateway = new_gateway(sandbox_path)
    start = gateway.calls.snapshot()
    first = run_score(gateway, POLICY)
    first_calls = gateway.calls.since(start)
    rows = rows_by_key(gateway)

    for key, (seed_value, stored) in SEED_RICE.items():
        rice = rows[key].get("RICE")
        assert rice == pytest.approx(stored), key
        assert round(rice, 1) == seed_value, key
    assert priority_ranks(rows) == SEED_RANK
    assert all(row.get("Rank") is None for row in rows.values())  # not a property any more, never written
    webhooks_note = rows["webhooks"].get("Score Note")
    assert "RICE 6.7 = Reach 10 × Impact 1 × Confidence 100% / Effort 1.5 pw." in webhooks_note
    assert "Priority 1006.67: scored items sort from 1000 up" in webhooks_note
    assert "Rank" not in webhooks_note
    assert "Strategic Override" in rows["latency"].get("Score Note")
    assert "Suggest Icebox" in rows["wakeword"].get("Score Note")
    # The PM's inputs are untouched: the scorer writes only what it owns.
    assert rows["analytics"].get("Effort") == "4"
    assert all(set(values) <= SCORER_OWNED for _, values in first.changes)
    assert (first.read, first.written, first.unscored, first.failed) == (9, 9, 0, [])
    assert first.notion_writes == 9  # one pages.update per row, nothing else

    between = gateway.calls.snapshot()
    second = run_score(gateway, POLICY)
    second_calls = gateway.calls.since(between)
    assert (second.written, second.unchanged, second.notion_writes) == (0, 9, 0)
    assert second_calls == {"data_sources.query": 1}  # one query of up to 100 rows; schema and database cached
    # The database and its schema were cached by the gateway that seeded the rows: no search, no schema read.
    assert first_calls == {"data_sources.query": 1, "pages.update": 9}
    print(
        f"\nscore calls: first run {first.notion_calls} {first_calls}, second run {second.notion_calls} {second_calls}"
    )


def test_one_pm_edit_rewrites_only_the_edited_row(sandbox_path: Path, seeded: dict[str, str]) -> None:
    gateway = new_gateway(sandbox_path)
    run_score(gateway, POLICY)
    pm_edit(gateway, seeded["wakeword"], {"Reach": "10"})  # 10 x 1 x 50% / 3 = 1.67: passes Multi-language

    again = run_score(gateway, POLICY)
    rows = rows_by_key(gateway)
    assert rows["wakeword"].get("RICE") == pytest.approx(1.67)
    ranks = priority_ranks(rows)
    assert (ranks["wakeword"], ranks["multilang"]) == (8, 9)  # it moved up; Multi-language's row is untouched
    assert "Suggest Icebox" not in rows["wakeword"].get("Score Note")  # 1.67 is above the Icebox threshold
    changed = {name for name, _ in again.changes}
    assert changed == {"Custom wake word support"}
    assert again.notion_writes == 1


def test_invalid_select_value_names_the_input_and_the_rest_is_still_scored(
    sandbox_path: Path, seeded: dict[str, str]
) -> None:
    gateway = new_gateway(sandbox_path)
    run_score(gateway, POLICY)
    assert rows_by_key(gateway)["webhooks"].get("RICE") == pytest.approx(6.67)
    pm_edit(gateway, seeded["webhooks"], {"Reach": "7"})  # typed by hand: Notion creates the option "7"

    report = run_score(gateway, POLICY)
    rows = rows_by_key(gateway)
    webhooks = rows["webhooks"]
    assert webhooks.get("RICE") is None  # the stale 6.67 is cleared, not left to mislead
    assert webhooks.get("Reach") == "7"  # the PM's value is never rewritten
    note = webhooks.get("Score Note")
    assert "Reach '7' is not valid" in note
    for allowed in ("10", "5", "3", "1", "0.5"):
        assert allowed in note.split("Reach '7' is not valid", 1)[1]
    assert report.unscored == 1
    assert report.failed == []
    others = {key: row.get("RICE") for key, row in rows.items() if key != "webhooks"}
    assert all(value is not None for value in others.values()), others
    assert webhooks.get("Priority") is None  # and it leaves the ranking
    assert priority_ranks(rows)["escalation"] == 3  # escalation moved up without a write of its own
    assert report.notion_writes == 1


def test_dry_run_reports_the_changes_and_writes_nothing(sandbox_path: Path, seeded: dict[str, str]) -> None:
    gateway = new_gateway(sandbox_path)
    report = run_score(gateway, POLICY, dry_run=True)
    assert report.written == 9
    assert len(report.changes) == 9
    assert report.notion_writes == 0
    assert gateway.calls.writes == 0
    assert all(row.get("RICE") is None and row.get("Priority") is None for row in rows_by_key(gateway).values())


def test_rescoring_one_page_reads_it_fresh(sandbox_path: Path, seeded: dict[str, str]) -> None:
    """The webhook path: `page_id` is read again by id, so an edit the query has not caught up with still counts."""
    gateway = new_gateway(sandbox_path)
    run_score(gateway, POLICY)
    pm_edit(gateway, seeded["escalation"], {"Impact": "3"})
    before = gateway.calls.snapshot()
    run_score(gateway, POLICY, page_id=seeded["escalation"])
    assert gateway.calls.since(before).get("pages.retrieve") == 1
    assert rows_by_key(gateway)["escalation"].get("RICE") == pytest.approx(8.0)  # 5 x 3 x 80% / 1.5


BIG = 300
CONFIDENCE_UP = {"20%": "50%", "50%": "80%", "80%": "100%"}


def big_backlog(gateway: NotionGateway, size: int = BIG) -> None:
    """`size` groomed rows (features with RICE inputs, some OKRs, P1/P2 bugs), created with the PM's inputs."""
    gateway.init_database()
    rnd = random.Random(12)
    writes = []
    for i in range(size):
        kind = "Bug" if i % 37 == 0 else rnd.choice(["Feature"] * 6 + ["Reliability", "Tech debt", "Compliance"])
        inputs: dict[str, Any] = {"Status": "Triaged", "Type": kind}
        if kind == "Bug":
            inputs["Severity"] = rnd.choice(["P1", "P2"])
        else:
            inputs |= {
                "Reach": rnd.choice(["10", "5", "3", "1", "0.5"]),
                "Impact": rnd.choice(["3", "2", "1", "0.5"]),
                "Confidence": rnd.choice(["80%", "50%", "20%"]),
                "Effort": rnd.choice(["XS", "S", "M", "L", "XL"]),
                "OKR": [rnd.choice(["O1", "O2", "O3", "O4"])] if rnd.random() < 0.2 else [],
            }
        sync_owned = {"Name": f"Item {i:03d}", "Source": "Manual", "Customer": f"Customer {i % 40}"}
        sync_owned["First Seen"] = date(2026, 1, 1) + timedelta(days=rnd.randrange(300))
        writes.append(RowWrite(f"manual:r{i:03d}", sync_owned, inputs))
    assert not gateway.upsert(writes).failed


def written_pages(gateway: NotionGateway, run: Callable[[], ScoreReport]) -> set[str]:
    """The page ids one scoring run wrote (by the pages.update calls it made, counted by the gateway)."""
    before = gateway.calls.writes
    report = run()
    assert gateway.calls.writes - before == report.written == len(report.changes)
    names = {name for name, _ in report.changes}
    return {row.page_id for row in gateway.iter_rows() if row.get("Name") in names}


def test_one_edit_in_a_300_row_backlog_writes_one_row(sandbox_path: Path) -> None:
    """Everyday edit, bottom-to-top override, a merge and the webhook's page mode: 1, 1, 2 and 1 writes."""
    gateway = new_gateway(sandbox_path)
    big_backlog(gateway)
    assert run_score(gateway, POLICY).written == BIG
    assert written_pages(gateway, lambda: run_score(gateway, POLICY)) == set()
    rows = {row.page_id: row for row in gateway.iter_rows()}
    order = sorted((pid for pid in rows if rows[pid].get("Priority")), key=lambda pid: -rows[pid].get("Priority"))

    mid = next(pid for pid in order[len(order) // 2 :] if rows[pid].get("Confidence") in CONFIDENCE_UP)
    pm_edit(gateway, mid, {"Confidence": CONFIDENCE_UP[rows[mid].get("Confidence")]})
    assert written_pages(gateway, lambda: run_score(gateway, POLICY)) == {mid}

    bottom = order[-1]
    pm_edit(gateway, bottom, {"Strategic Override": True})
    assert written_pages(gateway, lambda: run_score(gateway, POLICY)) == {bottom}
    after = {row.page_id: row.get("Priority") or 0.0 for row in gateway.iter_rows()}
    assert max(after, key=lambda pid: after[pid]) == bottom  # now first in a view sorted by Priority

    child, target = order[100], order[60]
    pm_edit(gateway, child, {"Merged Into": [target], "Status": "Merged"})
    assert written_pages(gateway, lambda: run_score(gateway, POLICY)) == {child, target}
    assert "Evidence includes 1 merged row(s)." in rows_by_key(gateway)[str(rows[target].source_key)[7:]].get(
        "Score Note"
    )

    other = next(pid for pid in order[150:] if rows[pid].get("Confidence") in CONFIDENCE_UP)
    pm_edit(gateway, other, {"Confidence": CONFIDENCE_UP[rows[other].get("Confidence")]})
    assert written_pages(gateway, lambda: run_score(gateway, POLICY, page_id=other)) == {other}
    assert written_pages(gateway, lambda: run_score(gateway, POLICY)) == set()


def test_a_database_from_before_priority_gets_one_problem_and_the_rest_written(
    sandbox_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An older version's database has Rank but no Priority: score says to run `backlog init`, no traceback."""
    old_schema = tuple(spec for spec in database_module.SCHEMA if spec.name != "Priority")
    with monkeypatch.context() as patch:
        patch.setattr(database_module, "SCHEMA", old_schema)
        seed_backlog(new_gateway(sandbox_path))
    gateway = new_gateway(sandbox_path)
    report = run_score(gateway, POLICY)
    assert [name for name, _ in report.failed] == ["Priority"]
    assert "run `backlog init` to add it" in report.failed[0][1]
    assert report.exit_code == 1
    assert rows_by_key(gateway)["webhooks"].get("RICE") == pytest.approx(6.67)  # RICE and notes still written

    gateway.init_database()
    fresh = new_gateway(sandbox_path)
    again = run_score(fresh, POLICY)
    assert (again.failed, again.written) == ([], 9)  # each row gets its Priority once
    assert priority_ranks(rows_by_key(fresh)) == SEED_RANK


def test_a_webhook_rescore_writes_its_page_and_what_it_is_merged_into_nothing_else(sandbox_path: Path) -> None:
    """Page mode scores the page's merge family only: a row another edit left stale waits for its own event
    (or the next full score), and a merged row's edit reaches every row it is merged into, transitively."""
    gateway = new_gateway(sandbox_path)
    big_backlog(gateway, 40)
    run_score(gateway, POLICY)
    by_name = {str(row.get("Name")): row.page_id for row in gateway.iter_rows()}
    child, middle, top, stale = (by_name[f"Item {i:03d}"] for i in (1, 2, 3, 4))  # features, not bugs (i % 37)
    pm_edit(gateway, middle, {"Merged Into": [top], "Status": "Merged"})
    run_score(gateway, POLICY)
    pm_edit(gateway, stale, {"Reach": "10", "Impact": "3", "Confidence": "100%", "Effort": "XS"})  # no event yet
    pm_edit(gateway, child, {"Merged Into": [middle], "Status": "Merged"})  # the event: this page

    written = written_pages(gateway, lambda: run_score(gateway, POLICY, page_id=child))

    assert stale not in written  # not this page's family
    assert top in written  # two merges up: its evidence now includes the child
    assert "Evidence includes 2 merged row(s)." in str(gateway.get_row(top).get("Score Note"))
    assert written_pages(gateway, lambda: run_score(gateway, POLICY)) == {stale}  # the full score catches it
