"""The block budget: the gateway counts the blocks it creates, and the Free plan's block cap (emulated by the
sandbox's `block_limit`) becomes a `NotionBlockLimitError` that names the cause and the fixes, while updates go on."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.notion import NotionGateway, RowWrite
from service.notion.calls import CallCounter, blocks_in, budget_warning
from service.notion.errors import NotionBlockLimitError
from service.sandbox import Sandbox, SandboxTransport
from service.settings import Settings
from tests.fakes.sandbox_helpers import no_sleep

FIXES = ("upgrade the workspace's plan", "single-member workspace", "personal access token")


def capped_gateway(path: Path, *, spare: int) -> tuple[NotionGateway, Sandbox]:
    """A gateway on a sandbox that lets `spare` more blocks be created (the database exists already)."""
    with NotionGateway.from_settings(Settings(backlog_sandbox_path=path), sleep=no_sleep) as setup:
        setup.init_database()
    created = Sandbox(path).blocks.created
    sandbox = Sandbox(path, block_limit=created + spare)
    gateway = NotionGateway.from_settings(
        Settings(backlog_sandbox_path=path), transport=SandboxTransport(sandbox), sleep=no_sleep
    )
    return gateway, sandbox


def test_the_counter_adds_blocks_and_keeps_them_in_snapshots() -> None:
    calls = CallCounter()
    calls.count_blocks(1)
    calls.count_blocks(3)
    assert calls.blocks_created == 4
    assert calls.snapshot().blocks_created == 4
    with pytest.raises(ValueError, match="negative"):
        calls.count_blocks(-1)


def test_blocks_in_counts_nested_children() -> None:
    paragraph = {"type": "paragraph", "paragraph": {"rich_text": []}}
    toggle = {"type": "toggle", "toggle": {"rich_text": [], "children": [paragraph, paragraph]}}
    divider = {"type": "divider", "divider": {}}
    assert blocks_in([]) == 0
    assert blocks_in([paragraph, divider]) == 2
    assert blocks_in([toggle, divider]) == 4


def test_creating_the_database_counts_one_block(tmp_path: Path) -> None:
    with NotionGateway.from_settings(Settings(backlog_sandbox_path=tmp_path / "s.sqlite3"), sleep=no_sleep) as gw:
        gw.init_database()
        assert gw.calls.blocks_created == 1
        gw.init_database()  # adopting creates nothing
        assert gw.calls.blocks_created == 1


def test_the_budget_warns_from_80_percent_and_never_when_unset() -> None:
    assert budget_warning(10_000, None) is None
    assert budget_warning(799, 1000) is None
    warning = budget_warning(800, 1000)
    assert warning is not None
    assert "800 of NOTION_BLOCK_BUDGET=1000 blocks used (80 %)" in warning
    assert "personal access token" in warning


def test_the_block_limit_error_names_the_cause_and_every_fix(tmp_path: Path) -> None:
    gateway, _ = capped_gateway(tmp_path / "s.sqlite3", spare=1)
    with gateway:
        parent = gateway.parent_page_id()
        gateway.create_page(parent, "reaches the limit", [])  # the write that reaches it succeeds (no grace here)
        with pytest.raises(NotionBlockLimitError) as caught:
            gateway.create_page(parent, "one too many", [])
    message = str(caught.value)
    assert caught.value.status == 403
    assert "used all the blocks its plan lets integrations create" in message
    assert "1,000 lifetime blocks" in message
    for fix in FIXES:
        assert fix in message
    assert "https://developers.notion.com/reference/workspace-block-limits" in message
    assert "Traceback" not in message


def test_over_the_limit_rows_fail_to_be_created_but_updates_still_work(tmp_path: Path) -> None:
    gateway, _ = capped_gateway(tmp_path / "s.sqlite3", spare=1)
    with gateway:
        first = gateway.upsert([RowWrite("manual:1", {"Name": "first"})])
        [(_, page_id)] = first.created
        # Not a problem of one row: every later create would fail the same way, so the caller is told at once.
        with pytest.raises(NotionBlockLimitError, match="personal access token"):
            gateway.upsert([RowWrite("manual:2", {"Name": "second"})])
        gateway.update_properties(page_id, {"Name": "first, renamed"})  # an edit creates no block
        assert gateway.get_row(page_id).get("Name") == "first, renamed"


def test_a_sync_at_the_block_limit_stops_creating_says_so_once_and_exits_1(tmp_path: Path) -> None:
    from scoring.policy import Policy
    from service.pipelines.sync import run_sync
    from tests.fakes.sandbox_helpers import DEMO_EXPORTS

    gateway, _ = capped_gateway(tmp_path / "s.sqlite3", spare=3)
    settings = Settings(
        backlog_sandbox_path=tmp_path / "s.sqlite3",
        backlog_cache_dir=tmp_path / "cache",
        zendesk_export_path=DEMO_EXPORTS["zendesk_export_path"],
    )
    with gateway:
        report = run_sync(settings, gateway, Policy(), sources=["zendesk"])
        creates = gateway.calls.by_endpoint().get("pages.create", 0)
    [zendesk] = report.sources
    assert zendesk.created == 3
    assert zendesk.failed == zendesk.fetched - 3  # the rest were not created, and are counted as failed
    assert creates == 4  # three rows, one refused create: then no more create calls
    assert sum("new rows not created" in p for p in zendesk.problems) == 1
    assert report.exit_code == 1
