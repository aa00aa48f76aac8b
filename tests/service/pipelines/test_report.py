"""`backlog report --sprint N` end to end on the in-process Notion sandbox, on the seed's nine items.

What the PM sees: one "Sprint N — ..." page under the parent page with the seed's table (each row linked to its
candidate), planned rows marked and nothing else written, blockers as risks, zombies derived and listed.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from scoring.policy import Capacity, Policy
from service.notion import NotionGateway
from service.pipelines import report as report_module
from service.pipelines.report import ReportResult, run_report
from tests.service.pipelines.test_score import new_gateway, pm_edit, rows_by_key, seed_backlog

POLICY = Policy()
SPRINT_1 = date(2026, 1, 12)
SPRINT_2 = date(2026, 1, 26)
TITLE_1 = "Sprint 1 — 2026-01-12 to 2026-01-25"
PICKED = {"latency", "webhooks", "escalation", "hipaa"}  # the seed's plan (see tests/scoring/test_planner.py)
WAITING = {"analytics", "multilang", "wakeword"}  # eligible, not picked
BLOCKED = {"soc2", "salesforce"}


@pytest.fixture
def gateway(tmp_path: Path) -> NotionGateway:
    gw = new_gateway(tmp_path / "s.sqlite3")
    seed_backlog(gw)
    return gw


def plain(rich_text: list[dict[str, Any]]) -> str:
    return "".join(item.get("plain_text") or item["text"]["content"] for item in rich_text)


def blocks_of(gateway: NotionGateway, block_id: str) -> list[dict[str, Any]]:
    """Every block under `block_id`, depth first (table rows and toggle content included)."""
    found: list[dict[str, Any]] = []
    for block in gateway.list_children(block_id):
        found.append(block)
        if block.get("has_children"):
            found.extend(blocks_of(gateway, str(block["id"])))
    return found


def block_texts(blocks: list[dict[str, Any]]) -> list[str]:
    texts = []
    for block in blocks:
        body = block.get(block["type"]) or {}
        if "rich_text" in body:
            texts.append(plain(body["rich_text"]))
        texts.extend(plain(cell) for cell in body.get("cells") or [])
    return texts


def sprint_pages(gateway: NotionGateway) -> dict[str, str]:
    """Title -> id of the live sub-pages of the parent page."""
    return {
        block["child_page"]["title"]: str(block["id"])
        for block in gateway.list_children(gateway.parent_page_id())
        if block["type"] == "child_page" and not block.get("in_trash")
    }


def report(gateway: NotionGateway, sprint: int = 1, start: date = SPRINT_1, policy: Policy = POLICY) -> ReportResult:
    result = run_report(gateway, policy, sprint=sprint, start=start)
    assert result.failed == []
    return result


def test_sprint_page_is_created_under_the_parent_with_linked_rows_and_planned_rows_marked(
    gateway: NotionGateway,
) -> None:
    result = report(gateway)
    assert result.page_action == "created"
    pages = sprint_pages(gateway)
    assert TITLE_1 in pages
    assert result.page_id == pages[TITLE_1]

    rows = rows_by_key(gateway)
    blocks = blocks_of(gateway, pages[TITLE_1])
    table_rows = [b["table_row"]["cells"] for b in blocks if b["type"] == "table_row"]
    assert plain(table_rows[0][1]) == "Item"  # the header row
    links = {plain(cells[1]): cells[1][0]["text"]["link"]["url"] for cells in table_rows[1:]}
    for key in PICKED:
        assert links[rows[key].get("Name")] == rows[key].url  # the item links to its candidate row
    assert {plain(cells[0]) for cells in table_rows[1:]} >= {"P0", "P1", "P2"}

    for key, row in rows.items():
        if key in PICKED:
            assert (row.get("Sprint"), row.get("Status")) == (1, "Planned"), key
        else:
            assert row.get("Sprint") is None, key
            assert row.get("Status") == "New", key
    texts = "\n".join(block_texts(blocks))
    assert "Capacity: 12.2 person-weeks may be planned; 12.0 are." in texts
    assert "Stakeholder summary" in texts


def test_rerunning_the_report_reuses_the_page_and_writes_nothing(gateway: NotionGateway) -> None:
    start = gateway.calls.snapshot()
    first = report(gateway)
    first_calls = gateway.calls.since(start)
    first_blocks = blocks_of(gateway, str(first.page_id))
    writes_before = gateway.calls.writes
    rerun_start = gateway.calls.snapshot()

    for _ in range(2):
        again = report(gateway)
        assert again.page_action == "unchanged"
        assert again.page_id == first.page_id
        assert again.rows_written == 0
    rerun_calls = gateway.calls.since(rerun_start)
    assert gateway.calls.writes == writes_before
    assert [title for title in sprint_pages(gateway) if title.startswith("Sprint 1 —")] == [TITLE_1]
    assert len(blocks_of(gateway, str(first.page_id))) == len(first_blocks)
    assert not {"pages.create", "pages.update", "blocks.children.append", "blocks.delete"} & set(rerun_calls)
    print(
        f"\nreport calls: first run {first.notion_calls} {first_calls}, "
        f"re-run {again.notion_calls} (two re-runs: {rerun_calls})"
    )


def test_a_rerun_plans_once_and_a_report_with_row_writes_plans_again_with_them(
    gateway: NotionGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan is made again as the backlog will be after the report's own row writes (so the page already
    shows them Planned); with none to make, the first plan is that plan (2.6 s of CPU at 10,000 rows)."""
    plans: list[int] = []
    real = report_module.score_backlog

    def counted(*args: Any, **kwargs: Any) -> Any:
        plans.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(report_module, "score_backlog", counted)
    first = report(gateway)
    assert first.rows_written > 0
    assert len(plans) == 2
    plans.clear()
    again = report(gateway)
    assert again.page_action == "unchanged"
    assert again.rows_written == 0
    assert len(plans) == 1


def test_a_changed_plan_rewrites_the_same_page_without_duplicating_blocks(gateway: NotionGateway) -> None:
    first = report(gateway)
    rows = rows_by_key(gateway)
    pm_edit(gateway, rows["salesforce"].page_id, {"Blocked By": None})  # unblocked: the plan changes

    again = report(gateway)
    assert again.page_action == "updated"
    assert again.page_id == first.page_id
    assert list(sprint_pages(gateway)) == [TITLE_1]
    texts = block_texts(blocks_of(gateway, str(first.page_id)))
    assert texts.count("Stakeholder summary") == 1  # old content replaced, not appended to
    assert sum("backlog fingerprint" in text for text in texts) == 1
    assert not any("Salesforce native integration is blocked" in text for text in texts)


def test_a_report_writes_only_its_planned_rows_and_a_rerun_writes_nothing(gateway: NotionGateway) -> None:
    before = {key: row.values for key, row in rows_by_key(gateway).items()}
    start = gateway.calls.snapshot()
    first = report(gateway)
    calls = gateway.calls.since(start)
    rows = rows_by_key(gateway)
    assert first.rows_written == len(PICKED)
    assert calls.get("pages.update") == len(PICKED)  # one write per planned row, none on the waiting rows
    assert {key for key in rows if rows[key].values != before[key]} == PICKED
    assert all(row.get("Sprints Waiting") is None and row.get("Waiting Counted") is None for row in rows.values())

    writes = gateway.calls.writes
    assert report(gateway).rows_written == 0
    assert gateway.calls.writes == writes  # a re-run with no edits writes nothing at all

    second = report(gateway, sprint=2, start=SPRINT_2)
    assert second.page_action == "created"
    assert second.rows_written == len(PICKED)  # the same plan: its rows get Sprint 2, the waiting rows nothing
    assert report(gateway, sprint=2, start=SPRINT_2).rows_written == 0
    assert "Sprint 2 — 2026-01-26 to 2026-02-08" in sprint_pages(gateway)
    assert TITLE_1 in sprint_pages(gateway)  # sprint 1's page is kept


def test_blocked_items_are_risks_and_never_planned(gateway: NotionGateway) -> None:
    result = report(gateway)
    rows = rows_by_key(gateway)
    for key in BLOCKED:
        assert key not in {k for k, row in rows.items() if row.page_id in result.plan.picked_page_ids}
        assert rows[key].get("Status") == "New"
        assert rows[key].get("Sprint") is None
    blocks = blocks_of(gateway, str(result.page_id))
    texts = block_texts(blocks)
    risks_at = texts.index("Risks")
    risk_lines = "\n".join(texts[risks_at + 1 : risks_at + 8])
    assert "SOC 2 compliance implementation is blocked by infra team logging changes" in risk_lines
    assert "Salesforce native integration is blocked by Salesforce developer sandbox" in risk_lines


def test_a_plan_where_nothing_fits_still_gets_a_page_saying_so(gateway: NotionGateway) -> None:
    tiny = Policy(capacity=Capacity(engineers={"Backend": 1}, sprint_weeks=1, on_call_engineers=0))
    result = report(gateway, policy=tiny)
    assert result.page_action == "created"
    assert result.planned == 0
    assert result.plan.empty_reason is not None
    assert "Nothing fits the plan limit of 0.6 pw" in result.plan.empty_reason
    callouts = [b for b in blocks_of(gateway, str(result.page_id)) if b["type"] == "callout"]
    assert any("Nothing fits the plan limit" in plain(b["callout"]["rich_text"]) for b in callouts)
    assert all(row.get("Status") != "Planned" for row in rows_by_key(gateway).values())


def test_items_waiting_three_sprints_are_listed_as_zombies(gateway: NotionGateway) -> None:
    """Derived from First Seen and the 2-week sprint calendar: nothing is counted up on the rows."""
    rows = rows_by_key(gateway)
    pm_edit(gateway, rows["wakeword"].page_id, {"First Seen": date(2025, 12, 1)})  # 6 weeks before sprint 1
    pm_edit(gateway, rows["analytics"].page_id, {"First Seen": date(2025, 12, 20)})  # 1 sprint and some days
    result = report(gateway)
    assert [z.candidate.name for z in result.plan.zombies] == ["Custom wake word support"]
    texts = block_texts(blocks_of(gateway, str(result.page_id)))
    zombies_at = texts.index("Zombies: re-prioritize or kill")
    assert texts[zombies_at + 1] == (
        "Custom wake word support: waiting 3 sprints (since 2025-12-01), re-prioritize or kill."
    )
    assert not any(text.startswith("Custom analytics dashboard: waiting") for text in texts)  # 1 sprint: no zombie
    assert result.rows_written == len(PICKED)
    assert report(gateway).page_action == "unchanged"  # a re-run of the same sprint counts nothing again
    later = report(gateway, sprint=3, start=date(2026, 2, 9))  # two sprints on, without a report in between
    assert [z.sprints_waiting for z in later.plan.zombies if z.candidate.name == "Custom wake word support"] == [5]


def test_dry_run_writes_nothing(gateway: NotionGateway) -> None:
    before = gateway.calls.writes
    result = run_report(gateway, POLICY, sprint=1, start=SPRINT_1, dry_run=True)
    assert result.page_action == "created"
    assert result.rows_written == len(PICKED)  # what a real run would write: the planned rows only
    assert gateway.calls.writes == before
    assert TITLE_1 not in sprint_pages(gateway)


# ------------------------------------------------------------------------------------------ the story sections
def test_the_next_sprint_page_says_what_changed_since_the_last_grooming(gateway: NotionGateway) -> None:
    first = report(gateway)
    first_texts = block_texts(blocks_of(gateway, str(first.page_id)))
    assert "First grooming: nothing to compare." in first_texts
    assert any(text.startswith("backlog grooming state ") for text in first_texts)  # what the next report reads
    rows = rows_by_key(gateway)
    pm_edit(gateway, rows["salesforce"].page_id, {"Blocked By": None})
    pm_edit(gateway, rows["analytics"].page_id, {"Blocked By": "waiting on the data team"})

    second = report(gateway, sprint=2, start=SPRINT_2)
    texts = block_texts(blocks_of(gateway, str(second.page_id)))
    salesforce, analytics = rows["salesforce"].get("Name"), rows["analytics"].get("Name")
    assert f"Unblocked: {salesforce}." in texts
    assert f"Newly blocked: {analytics}." in texts
    assert "First grooming: nothing to compare." not in texts
    assert "**Changed since the last grooming:**" in second.markdown


def test_whats_rising_is_on_the_page_and_in_the_summary_with_the_lexical_path(
    gateway: NotionGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_module, "_EMBEDDER", [None])  # the model is unavailable: words, not vectors
    result = report(gateway)
    texts = block_texts(blocks_of(gateway, str(result.page_id)))
    assert "What's rising" in texts
    assert "**What's rising in feedback:**" in result.markdown


def test_each_audience_gets_its_markdown(gateway: NotionGateway) -> None:
    sales = run_report(gateway, POLICY, sprint=1, start=SPRINT_1, audience="cs")
    assert "Coming this sprint (safe to tell customers)" in sales.markdown
    leadership = run_report(gateway, POLICY, sprint=1, start=SPRINT_1, audience="leadership")
    assert "| Priority | Item |" not in leadership.markdown
    assert "| Priority | Item |" in run_report(gateway, POLICY, sprint=1, start=SPRINT_1).markdown
