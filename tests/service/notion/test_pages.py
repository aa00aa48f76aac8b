"""Pages and blocks for the report, against the sandbox behind the fault transport."""

from __future__ import annotations

import pytest

from tests.fakes.faults import FaultyNotion, lost_answer
from tests.service.notion.support import make_gateway, paragraph

CHILDREN = r"blocks/[^/]+/children"


def test_create_page_chunks_blocks_and_is_found_again(notion: FaultyNotion, sleeps: list[float]) -> None:
    gateway = make_gateway(notion, sleeps)
    parent = gateway.parent_page_id()
    assert parent == notion.sandbox.root_page_id
    page_id, url = gateway.create_page(parent, "Sprint 12", [paragraph(i) for i in range(250)], icon="🗓️")
    assert url.endswith(page_id.replace("-", ""))
    create = notion.transport.bodies("POST", "pages")[0]
    assert len(create["children"]) == 100
    assert create["icon"] == {"type": "emoji", "emoji": "🗓️"}
    assert [len(b["children"]) for b in notion.transport.bodies("PATCH", CHILDREN)] == [100, 50]
    assert gateway.find_child_page(parent, "Sprint 12") == page_id
    assert gateway.find_child_page(parent, "Sprint 13") is None
    assert gateway.page_url(page_id) == url


def test_create_page_5xx_is_recovered_by_title(notion: FaultyNotion, sleeps: list[float]) -> None:
    gateway = make_gateway(notion, sleeps)
    notion.transport.fail("POST", "pages", lost_answer(500))
    page_id, _ = gateway.create_page(notion.sandbox.root_page_id, "Sprint 12", [paragraph(1)])
    assert notion.transport.count("POST", "pages") == 1
    children = notion.api("GET", f"blocks/{notion.sandbox.root_page_id}/children")["results"]
    assert [child["id"] for child in children if child["type"] == "child_page"] == [page_id]


def test_replace_children_deletes_then_appends(notion: FaultyNotion, sleeps: list[float]) -> None:
    gateway = make_gateway(notion, sleeps)
    page_id, _ = gateway.create_page(notion.sandbox.root_page_id, "Summary", [paragraph(i) for i in range(3)])
    gateway.replace_children(page_id, [paragraph(9)])
    assert notion.transport.count("DELETE", r"blocks/.*") == 3
    kids = gateway.list_children(page_id)
    assert [k["paragraph"]["rich_text"][0]["text"]["content"] for k in kids] == ["line 9"]


def test_find_child_page_by_prefix_skips_trashed_pages(notion: FaultyNotion, sleeps: list[float]) -> None:
    gateway = make_gateway(notion, sleeps)
    root = notion.sandbox.root_page_id
    old, _ = gateway.create_page(root, "Sprint 3 — 2026-07-01 to 2026-07-14", [])
    notion.api("PATCH", f"pages/{old}", {"in_trash": True})
    live, _ = gateway.create_page(root, "Sprint 3 — 2026-07-02 to 2026-07-15", [])
    gateway.create_page(root, "Sprint 30 — later", [])
    assert gateway.find_child_page(root, prefix="Sprint 3 —") == live
    assert gateway.find_child_page(root, prefix="Sprint 4 —") is None
    assert gateway.find_child_page(root, "Sprint 3 — 2026-07-01 to 2026-07-14") is None  # in the trash
    with pytest.raises(ValueError, match="exactly one"):
        gateway.find_child_page(root)


def test_page_block_texts_are_the_plain_text_of_each_block(notion: FaultyNotion, sleeps: list[float]) -> None:
    gateway = make_gateway(notion, sleeps)
    callout = {
        "type": "callout",
        "callout": {"rich_text": [{"type": "text", "text": {"content": "Generated (fingerprint: abc)"}}]},
    }
    divider = {"type": "divider", "divider": {}}
    page_id, _ = gateway.create_page(notion.sandbox.root_page_id, "Sprint 1", [callout, divider, paragraph(2)])
    notion.transport.page_size = 2  # the texts of every page of children
    assert gateway.page_block_texts(page_id) == ["Generated (fingerprint: abc)", "", "line 2"]
    assert gateway.calls.by_endpoint()["blocks.children.list"] == 2
