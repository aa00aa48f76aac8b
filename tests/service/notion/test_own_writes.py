"""The service's own writes reach the row cache from their answers, so the incremental read asks Notion only for
everyone else's edits; a write whose answer never reached the file (lost, or the process was killed) makes the
next read include the service's own edits again, so nothing it wrote is missed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from service.notion.errors import NotionError
from service.notion.gateway import RowWrite
from tests.fakes.faults import FaultyNotion, lost_answer
from tests.service.notion.support import (
    TOKEN,
    create_database,
    full_database,
    make_gateway,
    pm_gateway,
    seed_rows,
)

ROWS = 150  # more than one query page of 100: a read that returned the service's own edits needs two


def _query_filters(notion: FaultyNotion) -> list[object]:
    return [body.get("filter") for body in notion.transport.bodies("POST", r"data_sources/[^/]+/query")]


def test_own_edits_come_from_answers_and_a_read_asks_only_for_others(
    notion: FaultyNotion, sleeps: list[float], tmp_path: Path
) -> None:
    full_database(notion)
    cache_dir = tmp_path / "cache"
    with make_gateway(notion, sleeps, backlog_cache_dir=cache_dir) as gateway:
        pages = seed_rows(gateway, ROWS)
        gateway.read_rows()  # the full read: the cache is warm
        for page_id in pages.values():  # the scorer's writes, every row
            gateway.update_properties(page_id, {"RICE": 12.5})
    notion.clock.tick(2)
    with pm_gateway(notion, tmp_path) as pm:
        pm.update_properties(pages["zendesk:7"], {"Reach": "10"})

    with make_gateway(notion, sleeps, backlog_cache_dir=cache_dir) as gateway:
        read = gateway.read_rows()
        queries = gateway.calls.by_endpoint()["data_sources.query"]
    assert queries == 1  # the 150 own edits were not read back: one page, the PM's edit
    assert {r.source_key for r in read.changed} >= {"zendesk:7"}
    assert all(row.values["RICE"] == 12.5 for row in read.rows.values())  # own writes, from their answers
    assert read.rows[pages["zendesk:7"]].values["Reach"] == "10"  # the PM's, from the read
    assert read.rows[pages["zendesk:7"]].values["RICE"] == 12.5


def test_a_write_whose_answer_was_lost_is_read_back_and_then_skipped_again(
    notion: FaultyNotion, sleeps: list[float], tmp_path: Path
) -> None:
    full_database(notion)
    cache_dir = tmp_path / "cache"
    with make_gateway(notion, sleeps, backlog_cache_dir=cache_dir, notion_max_retries=0) as gateway:
        pages = seed_rows(gateway, 3)
        gateway.read_rows()
        notion.transport.fail("PATCH", "pages/.+", lost_answer(502))  # it lands; the answer never comes
        with pytest.raises(NotionError):  # reported as a failed write; what matters is the next read
            gateway.update_properties(pages["zendesk:1"], {"RICE": 99.0})

    with make_gateway(notion, sleeps, backlog_cache_dir=cache_dir) as gateway:
        again = gateway.read_rows()
    with make_gateway(notion, sleeps, backlog_cache_dir=cache_dir) as gateway:
        gateway.read_rows()
    first, second = _query_filters(notion)[-2:]
    assert again.rows[pages["zendesk:1"]].values["RICE"] == 99.0  # the landed write, read from Notion
    assert "Last edited by" not in str(first)  # the pending write: the service's own edits are read too
    assert "Last edited by" in str(second)  # settled by that read: skipped again


def test_without_a_last_edited_by_property_every_edit_is_read(
    notion: FaultyNotion, sleeps: list[float], tmp_path: Path
) -> None:
    create_database(notion, {"Name": {"title": {}}, "Source Key": {"rich_text": {}}, "RICE": {"number": {}}})
    cache_dir = tmp_path / "cache"
    with make_gateway(notion, sleeps, backlog_cache_dir=cache_dir) as gateway:
        gateway.read_rows()
    with make_gateway(notion, sleeps, backlog_cache_dir=cache_dir) as gateway:
        gateway.read_rows()
    assert "Last edited by" not in str(_query_filters(notion)[-1])  # the filter needs the property


CHILD = """
import os, signal, sys
import httpx
from connectors.http import RateLimiter
from pydantic import SecretStr
from service.notion.gateway import NotionGateway
from service.sandbox import Sandbox, SandboxTransport
from service.settings import Settings

class KillAfterAnswer(httpx.BaseTransport):
    '''The sandbox applies the PATCH and answers; this process dies before the gateway sees the answer.'''
    def __init__(self, inner):
        self.inner = inner
    def handle_request(self, request):
        response = self.inner.handle_request(request)
        if request.method == "PATCH":
            os.kill(os.getpid(), signal.SIGKILL)
        return response

sandbox_path, cache_dir, page_id, token = sys.argv[1:5]
settings = Settings(notion_token=SecretStr(token), notion_api_url="https://api.notion.test",
                    backlog_cache_dir=cache_dir)
transport = KillAfterAnswer(SandboxTransport(Sandbox(sandbox_path, token=token)))
gateway = NotionGateway.from_settings(settings, transport=transport, limiter=RateLimiter(1000.0, burst=1000))
gateway.update_properties(page_id, {"RICE": 77.0})
"""


def test_a_process_killed_after_notion_applied_its_write_loses_nothing(
    notion: FaultyNotion, sleeps: list[float], tmp_path: Path
) -> None:
    full_database(notion)
    cache_dir = tmp_path / "cache"
    with make_gateway(notion, sleeps, backlog_cache_dir=cache_dir) as gateway:
        pages = seed_rows(gateway, 3)
        gateway.read_rows()
    root = Path(__file__).resolve().parents[3]
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD), str(notion.sandbox.path), str(cache_dir),
         pages["zendesk:2"], TOKEN],
        cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]

    with make_gateway(notion, sleeps, backlog_cache_dir=cache_dir) as gateway:
        read = gateway.read_rows()
    assert read.rows[pages["zendesk:2"]].values["RICE"] == 77.0  # Notion has it, and so does the read
    with make_gateway(notion, sleeps, backlog_cache_dir=cache_dir) as gateway:
        assert gateway.read_rows().rows[pages["zendesk:2"]].values["RICE"] == 77.0  # and the cache after it


def test_the_sandbox_tells_the_person_from_the_bot(notion: FaultyNotion, tmp_path: Path) -> None:
    full_database(notion)
    with pm_gateway(notion, tmp_path) as pm:
        [(_, page_id)] = pm.upsert([RowWrite("zendesk:1", {"Name": "by the PM"})], existing={}).created
        row = pm.get_row(page_id)
    assert row.last_edited_by == notion.sandbox.person_user_id
    with make_gateway(notion, []) as gateway:
        gateway.update_properties(page_id, {"RICE": 1.0})
        assert gateway.get_row(page_id).last_edited_by == notion.sandbox.bot_user_id


def test_a_cache_that_saw_no_own_write_asks_who_the_integration_is_once(
    notion: FaultyNotion, sleeps: list[float], tmp_path: Path
) -> None:
    full_database(notion)
    cache_dir = tmp_path / "cache"
    with make_gateway(notion, sleeps, backlog_cache_dir=tmp_path / "elsewhere") as other:
        seed_rows(other, ROWS)  # an earlier run whose cache is gone: its 150 rows are the integration's edits
    with make_gateway(notion, sleeps, backlog_cache_dir=cache_dir) as gateway:
        assert gateway.read_rows().full
    counts = []
    for _ in range(2):
        with make_gateway(notion, sleeps, backlog_cache_dir=cache_dir) as gateway:
            gateway.read_rows()
            counts.append(gateway.calls.by_endpoint())
    assert [c.get("users.me", 0) for c in counts] == [1, 0]  # learned once, kept in the cache file
    assert [c["data_sources.query"] for c in counts] == [1, 1]  # the 150 own rows of the boundary minute: skipped
