"""`backlog report` through the page cache (issue 12): a re-run with no edits costs at most three calls, and the
cache never changes a result (deleted, stale, or pointing at a page in the trash)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from scoring.policy import Policy
from service.notion import NotionGateway, RowWrite
from service.notion.page_cache import FILE_NAME
from service.notion.pages import MAX_BLOCKS_PER_REQUEST
from service.pipelines.escalate import run_escalate
from service.pipelines.report import ReportResult, run_report
from service.pipelines.sprint_page import ESCALATION_HEADING
from tests.fakes.faults import FaultyNotion
from tests.service.notion.support import T0, TOKEN, setup_gateway
from tests.service.pipelines.test_score import pm_edit, rows_by_key, seed_backlog

POLICY = Policy()
SPRINT_1, SPRINT_2 = date(2026, 7, 6), date(2026, 7, 20)


@dataclass
class World:
    """One sandbox with its clock; every `gateway()` is a new process on the same cache folder."""

    notion: FaultyNotion
    cache: Path

    def gateway(self, cache: Path | None = None) -> NotionGateway:
        parent = self.notion.sandbox.root_page_id
        gateway = setup_gateway(self.notion, backlog_cache_dir=cache or self.cache, notion_parent_page_id=parent)
        gateway.page_cache.now = self.notion.clock  # the host's clock agrees with Notion's
        return gateway

    def report(self, sprint: int = 1, *, minutes: int = 2) -> tuple[ReportResult, dict[str, int]]:
        """`backlog report --sprint N`, `minutes` after the previous command."""
        self.notion.clock.tick(minutes)
        with self.gateway() as gateway:
            result = run_report(gateway, POLICY, sprint=sprint, start=SPRINT_1 if sprint == 1 else SPRINT_2)
            assert result.failed == []
            return result, gateway.calls.by_endpoint()

    def texts(self, page_id: str) -> list[str]:
        return self.gateway(self.cache / "elsewhere").page_block_texts(page_id)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    notion = FaultyNotion.open(tmp_path / "notion.sqlite3", token=TOKEN, start=T0)
    made = World(notion, tmp_path / "cache")
    seed_backlog(made.gateway())
    yield made
    notion.close()


def test_a_rerun_with_no_edits_costs_at_most_three_calls(world: World) -> None:
    first, calls = world.report()
    assert first.page_action == "created"
    assert calls["pages.create"] == 1
    assert "blocks.children.append" not in calls  # the whole page in the create call
    world.report()  # the first re-run reads the page once (it was written in the minute of its own stamp)
    again, calls = world.report()
    assert (again.page_action, again.page_id) == ("unchanged", first.page_id)
    assert calls == {"data_sources.query": 1, "pages.retrieve": 1}

    second, _ = world.report(sprint=2)
    assert second.page_action == "created"
    world.report(sprint=2)
    again, calls = world.report(sprint=2)
    assert again.page_action == "unchanged"
    assert calls == {"data_sources.query": 1, "pages.retrieve": 2}  # this sprint's page and the one before
    assert sum(calls.values()) <= 3


def test_deleting_the_cache_changes_nothing_but_the_calls(world: World) -> None:
    first, _ = world.report()
    world.report()
    warm, _ = world.report()
    texts = world.texts(str(first.page_id))
    (world.cache / FILE_NAME).unlink()
    cold, calls = world.report()
    assert (cold.page_id, cold.page_action, cold.markdown) == (warm.page_id, warm.page_action, warm.markdown)
    assert world.texts(str(first.page_id)) == texts
    assert calls["blocks.children.list"] == 2  # the parent page, then the sprint page
    assert not {"pages.create", "pages.update", "blocks.children.append", "blocks.delete"} & set(calls)


def test_an_escalation_logged_by_another_process_survives_the_next_reports(world: World) -> None:
    first, _ = world.report()
    world.report()
    world.report()  # the cache is warm and trusted
    page_id = str(first.page_id)
    analytics = rows_by_key(world.gateway())["analytics"]
    world.notion.clock.tick(3)
    with world.gateway(world.cache / "another-host") as other:
        logged = run_escalate(other, POLICY, analytics.page_id, sprint=1, today=SPRINT_1.replace(day=8))
    assert world.texts(page_id)[-1] == logged.log_line

    kept, calls = world.report()  # the stamp moved: the page is listed again, and the line is kept
    assert calls["blocks.children.list"] == 1
    assert kept.page_action == "updated"  # the header's fingerprint now covers the log line
    assert world.texts(page_id)[-1] == logged.log_line

    pm_edit(world.gateway(), analytics.page_id, {"Reach": "10", "Impact": "3", "Confidence": "100%"})
    changed, _ = world.report()  # the plan changed: the page is rewritten, the log stays its last section
    assert changed.page_action == "updated"
    texts = world.texts(page_id)
    assert texts[texts.index(ESCALATION_HEADING) + 1 :] == [logged.log_line]


def test_cached_texts_that_the_stamp_does_not_reveal_as_stale_are_replaced_before_a_rewrite(world: World) -> None:
    first, _ = world.report()
    world.report()
    world.report()
    page_id = str(first.page_id)
    world.notion.api(
        "PATCH",
        f"blocks/{page_id}/children",
        {"children": [{"paragraph": {"rich_text": [{"text": {"content": "2026-07-08 applied: by hand"}}]}}]},
    )
    # The cache misses that append (as it would if Notion's stamp had not moved): current stamp, older texts.
    path = world.cache / FILE_NAME
    saved = json.loads(path.read_text(encoding="utf-8"))
    entry = saved["pages"][page_id]
    entry["edited"] = world.notion.api("GET", f"pages/{page_id}")["last_edited_time"]
    entry["seen"] = (world.notion.clock.now + timedelta(minutes=5)).isoformat()
    path.write_text(json.dumps(saved), encoding="utf-8")

    analytics = rows_by_key(world.gateway())["analytics"]
    pm_edit(world.gateway(), analytics.page_id, {"Reach": "10", "Impact": "3", "Confidence": "100%"})
    changed, _ = world.report()
    assert changed.page_action == "updated"
    assert world.texts(page_id)[-1] == "2026-07-08 applied: by hand"


def test_a_sprint_page_in_the_trash_is_made_again(world: World) -> None:
    first, _ = world.report()
    world.report()
    world.notion.api("PATCH", f"pages/{first.page_id}", {"in_trash": True})
    again, calls = world.report()
    assert again.page_action == "created"
    assert again.page_id != first.page_id
    assert calls["pages.retrieve"] == 1  # the cached id, found in the trash; then the parent is listed
    rerun, _ = world.report()
    assert (rerun.page_action, rerun.page_id) == ("unchanged", again.page_id)


def test_a_backlog_full_of_zombies_gets_its_whole_page_in_one_create_call(world: World) -> None:
    old = datetime(2025, 1, 6, tzinfo=UTC)  # first asked for long ago: every row left out is a zombie
    writes = [
        RowWrite(
            f"manual:old-{i}",
            {"Name": f"Old request {i}", "Source": "Manual", "First Seen": old, "Last Seen": old},
            {"Status": "New", "Type": "Feature", "Reach": "3", "Impact": "1", "Confidence": "50%", "Effort": "M"},
        )
        for i in range(150)
    ]
    assert not world.gateway().upsert(writes).failed
    result, calls = world.report()
    assert len(result.plan.zombies) >= 140
    assert calls["pages.create"] == 1
    assert "blocks.children.append" not in calls
    assert len(world.texts(str(result.page_id))) <= MAX_BLOCKS_PER_REQUEST
