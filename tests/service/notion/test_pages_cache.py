"""The page cache (sprint-pages.json): a sub-page found before is checked with one retrieve, and its block texts
are reused only while Notion's last_edited_time (and last_edited_by, for what this host wrote) says nothing happened
since they were known."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from service.notion import NotionGateway
from service.notion.page_cache import FILE_NAME, PageCache
from tests.fakes.faults import FaultyNotion
from tests.service.notion.support import T0, make_gateway, paragraph

PREFIX = "Sprint 1 —"
TITLE = "Sprint 1 — 2026-07-06 to 2026-07-19"


def gateway_at(notion: FaultyNotion, sleeps: list[float], cache: Path) -> NotionGateway:
    """A new process: a fresh gateway on `cache`, whose page cache reads the sandbox's clock."""
    gateway = make_gateway(notion, sleeps, backlog_cache_dir=cache)
    gateway.page_cache.now = notion.clock
    return gateway


def made(notion: FaultyNotion, sleeps: list[float], cache: Path, lines: int = 3) -> str:
    gateway = gateway_at(notion, sleeps, cache)
    page_id, _ = gateway.create_child_page(
        notion.sandbox.root_page_id, PREFIX, TITLE, [paragraph(i) for i in range(lines)]
    )
    return page_id


def opened(notion: FaultyNotion, sleeps: list[float], cache: Path) -> tuple[list[str] | None, dict[str, int]]:
    gateway = gateway_at(notion, sleeps, cache)
    view = gateway.open_child_page(notion.sandbox.root_page_id, PREFIX)
    return (list(view.texts) if view else None), gateway.calls.by_endpoint()


def test_a_page_this_host_made_costs_one_retrieve_even_in_the_minute_of_its_write(
    notion: FaultyNotion, sleeps: list[float], tmp_path: Path
) -> None:
    made(notion, sleeps, tmp_path)
    # Notion says the integration made the last edit: no one edited after the write recorded here.
    for _ in range(2):
        texts, calls = opened(notion, sleeps, tmp_path)
        assert texts == ["line 0", "line 1", "line 2"]
        assert calls == {"pages.retrieve": 1}


def test_a_pm_edit_in_the_minute_of_the_write_is_seen_and_texts_read_then_are_read_again(
    notion: FaultyNotion, sleeps: list[float], tmp_path: Path
) -> None:
    page_id = made(notion, sleeps, tmp_path)
    # The PM appends in the same minute: Notion's minute stamp does not move, its last editor does.
    notion.api("PATCH", f"blocks/{page_id}/children", {"children": [paragraph(9)]}, as_person=True)
    texts, calls = opened(notion, sleeps, tmp_path)
    assert texts == ["line 0", "line 1", "line 2", "line 9"]
    assert calls == {"pages.retrieve": 1, "blocks.children.list": 1}
    texts, calls = opened(notion, sleeps, tmp_path)  # read in that same minute again: still not trusted
    assert calls == {"pages.retrieve": 1, "blocks.children.list": 1}
    notion.clock.tick(2)
    opened(notion, sleeps, tmp_path)  # read once that minute was over: trusted from now on
    texts, calls = opened(notion, sleeps, tmp_path)
    assert texts == ["line 0", "line 1", "line 2", "line 9"]
    assert calls == {"pages.retrieve": 1}


def test_a_rewrite_is_remembered_and_an_escalation_write_is_forgotten(
    notion: FaultyNotion, sleeps: list[float], tmp_path: Path
) -> None:
    made(notion, sleeps, tmp_path)
    notion.clock.tick(5)
    gateway = gateway_at(notion, sleeps, tmp_path)
    view = gateway.open_child_page(notion.sandbox.root_page_id, PREFIX)
    assert view is not None
    assert gateway.rewrite_page(view, [paragraph(i) for i in (0, 4)])
    texts, calls = opened(notion, sleeps, tmp_path)  # the re-run right after the rewrite
    assert texts == ["line 0", "line 4"]
    assert calls == {"pages.retrieve": 1}
    # `backlog escalate` writes through replace_children: the texts are dropped, the page is listed next time
    assert gateway.replace_children(view.page_id, [paragraph(i) for i in (0, 4, 5)])
    texts, calls = opened(notion, sleeps, tmp_path)
    assert texts == ["line 0", "line 4", "line 5"]
    assert calls == {"pages.retrieve": 1, "blocks.children.list": 1}


def test_an_edit_by_another_process_is_seen(notion: FaultyNotion, sleeps: list[float], tmp_path: Path) -> None:
    page_id = made(notion, sleeps, tmp_path)
    notion.clock.tick(2)
    opened(notion, sleeps, tmp_path)
    assert opened(notion, sleeps, tmp_path)[1] == {"pages.retrieve": 1}
    notion.clock.tick(3)
    notion.api("PATCH", f"blocks/{page_id}/children", {"children": [paragraph(7)]})  # its last_edited_time moves
    texts, calls = opened(notion, sleeps, tmp_path)
    assert texts == ["line 0", "line 1", "line 2", "line 7"]
    assert calls == {"pages.retrieve": 1, "blocks.children.list": 1}


def test_a_trashed_renamed_or_unknown_page_is_found_again_by_listing_the_parent(
    notion: FaultyNotion, sleeps: list[float], tmp_path: Path
) -> None:
    first = made(notion, sleeps, tmp_path)
    notion.api("PATCH", f"pages/{first}", {"in_trash": True})
    texts, calls = opened(notion, sleeps, tmp_path)
    assert texts is None  # no live page: the report makes one
    assert calls == {"pages.retrieve": 1, "blocks.children.list": 1}

    second = made(notion, sleeps, tmp_path, lines=1)
    title = {"title": {"title": [{"type": "text", "text": {"content": "Renamed by the PM"}}]}}
    notion.api("PATCH", f"pages/{second}", {"properties": title})
    assert opened(notion, sleeps, tmp_path)[0] is None

    notion.api("PATCH", f"pages/{second}", {"properties": {"title": {"title": [{"text": {"content": TITLE}}]}}})
    (tmp_path / FILE_NAME).write_text("{not json", encoding="utf-8")  # an unreadable cache is no cache
    texts, calls = opened(notion, sleeps, tmp_path)
    assert texts == ["line 0"]
    assert calls == {"blocks.children.list": 2}  # the parent, then the page
    assert json.loads((tmp_path / FILE_NAME).read_text(encoding="utf-8"))["version"] == 1


def test_the_rules_of_the_texts(tmp_path: Path) -> None:
    cache = PageCache(tmp_path / FILE_NAME, now=lambda: T0)
    stamp = T0.strftime("%Y-%m-%dT%H:%M:00.000Z")
    cache.put_texts("p", stamp, ["a"], seen=T0 + timedelta(seconds=59))
    assert cache.texts("p", stamp) is None  # known within the minute of the stamp
    cache.put_texts("p", stamp, ["a"], seen=T0 + timedelta(minutes=1, seconds=30))
    assert cache.texts("p", stamp) is None  # within the clock-skew margin after it
    cache.put_texts("p", stamp, ["a"], seen=T0 + timedelta(minutes=2))
    assert cache.texts("p", stamp) == ["a"]
    assert cache.texts("p", "2026-07-01T09:05:00.000Z") is None  # edited since
    cache.put_texts("p", None, ["a"])
    assert cache.texts("p", stamp) is None  # a write whose stamp is unknown forgets the texts

    cache.put_own("p", ["b"], "bot-1")  # written here at T0 as the integration's user bot-1
    assert cache.editor() == "bot-1"
    assert cache.texts("p", stamp, "bot-1") == ["b"]
    assert cache.texts("p", stamp, "person-1") is None  # someone else edited after the write
    assert cache.texts("p", stamp) is None  # the last editor unknown
    later = (T0 + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:00.000Z")
    assert cache.texts("p", later, "bot-1") is None  # an edit after the write and its skew margin: not this one
    cache.put_own("p", ["c"], None)
    assert cache.texts("p", stamp, "bot-1") is None  # no known editor: the texts are forgotten
