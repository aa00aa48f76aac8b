"""Pages and blocks for the report, against the sandbox behind the fault transport."""

from __future__ import annotations

from datetime import date

import pytest

from scoring.policy import Policy
from service.pipelines.report import run_report
from tests.fakes.faults import Fault, FaultyNotion, lost_answer, timeout
from tests.service.notion.support import make_gateway, paragraph, setup_gateway
from tests.service.pipelines.test_score import seed_backlog

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


# --- idempotent page writes: a lost answer never doubles a page --------------------------------------------------


@pytest.mark.parametrize("fault", [lost_answer(502), timeout(applied=True)], ids=["502-applied", "timeout-applied"])
def test_a_lost_append_answer_is_looked_up_not_sent_twice(
    notion: FaultyNotion, sleeps: list[float], fault: Fault
) -> None:
    gateway = make_gateway(notion, sleeps)
    notion.transport.fail("PATCH", CHILDREN, fault)  # the second chunk of 250 blocks lands, its answer is lost
    page_id, _ = gateway.create_page(notion.sandbox.root_page_id, "Sprint 7", [paragraph(i) for i in range(250)])

    assert setup_gateway(notion).page_block_texts(page_id) == [f"line {i}" for i in range(250)]
    assert [len(body["children"]) for body in notion.transport.bodies("PATCH", CHILDREN)] == [100, 50]


def test_replace_children_after_a_lost_answer_writes_the_page_once(notion: FaultyNotion, sleeps: list[float]) -> None:
    gateway = make_gateway(notion, sleeps)
    page_id, _ = gateway.create_page(notion.sandbox.root_page_id, "Sprint 8", [paragraph(i) for i in range(3)])
    notion.transport.fail("PATCH", CHILDREN, lost_answer(502))
    assert gateway.replace_children(page_id, [paragraph(i) for i in range(10, 15)]) is True
    assert setup_gateway(notion).page_block_texts(page_id) == [f"line {i}" for i in range(10, 15)]


def test_replace_children_compares_the_whole_page(notion: FaultyNotion, sleeps: list[float]) -> None:
    gateway = make_gateway(notion, sleeps)
    want = [paragraph(i) for i in range(4)]
    page_id, _ = gateway.create_page(notion.sandbox.root_page_id, "Sprint 9", want)
    writes = gateway.calls.writes
    assert gateway.replace_children(page_id, want) is False  # the page shows it already: nothing written
    assert gateway.calls.writes == writes

    gateway.replace_children(page_id, want[:2])  # a half-written page (an interrupted run) ...
    assert gateway.replace_children(page_id, want) is True  # ... gets only its missing tail
    assert notion.transport.bodies("PATCH", CHILDREN)[-1]["children"] == want[2:]

    notion.api("PATCH", f"blocks/{page_id}/children", {"children": want})  # a page doubled by an older version
    assert setup_gateway(notion).page_block_texts(page_id) == [f"line {i}" for i in range(4)] * 2
    gateway.replace_children(page_id, want)
    assert setup_gateway(notion).page_block_texts(page_id) == [f"line {i}" for i in range(4)]


def test_a_lost_append_answer_during_backlog_report_never_doubles_the_sprint_page(
    notion: FaultyNotion, sleeps: list[float]
) -> None:
    seed_backlog(setup_gateway(notion))
    gateway = make_gateway(notion, sleeps)
    first = run_report(gateway, Policy(), sprint=3, start=date(2026, 12, 7))
    assert first.page_id is not None
    assert first.page_action == "created"
    before = setup_gateway(notion).page_block_texts(first.page_id)

    # the plan changes (a new start date): the page is rewritten, and that append's answer is lost
    notion.transport.fail("PATCH", CHILDREN, lost_answer(502))
    again = run_report(gateway, Policy(), sprint=3, start=date(2026, 12, 14))
    assert again.page_action == "updated"
    after = setup_gateway(notion).page_block_texts(first.page_id)
    assert len(after) == len(before)
    assert after != before
    assert run_report(gateway, Policy(), sprint=3, start=date(2026, 12, 14)).page_action == "unchanged"


def test_a_lost_delete_answer_while_clearing_a_page_still_leaves_the_wanted_content(
    notion: FaultyNotion, sleeps: list[float]
) -> None:
    gateway = make_gateway(notion, sleeps)
    page_id, _ = gateway.create_page(notion.sandbox.root_page_id, "Sprint 10", [paragraph(i) for i in range(3)])
    notion.transport.fail("DELETE", r"blocks/.*", lost_answer(502))
    gateway.replace_children(page_id, [paragraph(9)])
    assert setup_gateway(notion).page_block_texts(page_id) == ["line 9"]
