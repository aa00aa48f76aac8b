"""Optional emulations: the Free-plan block cap, the query index lag, and query paging that sorts once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from service.sandbox import Sandbox, core
from service.sandbox.limits import BLOCK_LIMIT_MESSAGE
from tests.service.sandbox.test_sandbox import TOKEN, FakeWallClock, paragraph
from tests.service.sandbox.test_versions import add_row, call, make_data_source, ok

V = "2026-12-01"


def names(answer: dict[str, Any]) -> list[str]:
    return [page["properties"]["Name"]["title"][0]["plain_text"] for page in answer["results"]]


def assert_block_limit(status: int, answer: dict[str, Any]) -> None:
    assert status == 403
    assert answer["code"] == "restricted_resource"
    assert answer["message"] == BLOCK_LIMIT_MESSAGE
    assert answer["additional_data"] == {"block_limit": "block_creation"}


# --- block cap ----------------------------------------------------------------------------------------------------


def test_no_cap_by_default_but_blocks_are_counted(tmp_path: Path) -> None:
    box = Sandbox(tmp_path / "free.sqlite3", token=TOKEN)
    try:
        ds_id = make_data_source(box, V)  # the database: 1 block (its data source is none)
        for index in range(5):
            add_row(box, V, ds_id, f"row {index}")
        ok(box, V, "PATCH", f"/v1/blocks/{box.root_page_id}/children", {"children": [paragraph("a"), paragraph("b")]})
        assert box.blocks.created == 8
    finally:
        box.close()


def test_creates_fail_after_the_cap_and_edits_keep_working(tmp_path: Path) -> None:
    box = Sandbox(tmp_path / "capped.sqlite3", token=TOKEN, block_limit=3)
    try:
        ds_id = make_data_source(box, V)  # 1
        row = add_row(box, V, ds_id, "first")  # 2
        nested = {"toggle": {"rich_text": [], "children": [paragraph("inner")]}}
        ok(box, V, "PATCH", f"/v1/blocks/{row['id']}/children", {"children": [nested]})  # 2 more: reaches the cap
        assert box.blocks.created == 4
        body = {"parent": {"data_source_id": ds_id}, "properties": {"Name": {"title": []}}}
        assert_block_limit(*call(box, V, "POST", "/v1/pages", body))
        assert_block_limit(*call(box, V, "PATCH", f"/v1/blocks/{row['id']}/children", {"children": [paragraph("x")]}))
        database = {"parent": {"type": "page_id", "page_id": box.root_page_id}, "title": []}
        assert_block_limit(*call(box, V, "POST", "/v1/databases", database))
        renamed = {"properties": {"Name": {"title": [{"text": {"content": "still editable"}}]}}}
        assert ok(box, V, "PATCH", f"/v1/pages/{row['id']}", renamed)["properties"]["Name"]["title"]
        db_id = ok(box, V, "GET", f"/v1/data_sources/{ds_id}")["parent"]["database_id"]
        source = {"parent": {"type": "database_id", "database_id": db_id}, "properties": {"Name": {"title": {}}}}
        ok(box, V, "POST", "/v1/data_sources", source)  # a data source is not a block
        ok(box, V, "DELETE", f"/v1/blocks/{row['id']}")
        assert_block_limit(*call(box, V, "POST", "/v1/pages", body))  # deleting restores nothing
        assert box.blocks.created == 4
    finally:
        box.close()


def test_the_cap_survives_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "capped.sqlite3"
    first = Sandbox(path, token=TOKEN, block_limit=1)
    make_data_source(first, V)
    first.close()
    second = Sandbox(path, token=TOKEN, block_limit=1)
    try:
        body = {"parent": {"page_id": second.root_page_id}, "properties": {"title": []}}
        assert_block_limit(*call(second, V, "POST", "/v1/pages", body))
    finally:
        second.close()


def test_grace_period_keeps_creation_open_for_a_while(tmp_path: Path) -> None:
    wall = FakeWallClock()
    box = Sandbox(tmp_path / "grace.sqlite3", token=TOKEN, wall_clock=wall, block_limit=1, block_grace_s=3 * 86400)
    try:
        ds_id = make_data_source(box, V)  # reaches the cap: the grace period starts
        wall.now += timedelta(days=2)
        add_row(box, V, ds_id, "during grace")
        wall.now += timedelta(days=1, seconds=1)
        body = {"parent": {"data_source_id": ds_id}, "properties": {}}
        assert_block_limit(*call(box, V, "POST", "/v1/pages", body))
    finally:
        box.close()


def test_notion_client_sees_the_block_limit_as_its_api_error(tmp_path: Path) -> None:
    import httpx
    from notion_client import APIResponseError, Client

    from service.sandbox import SandboxTransport

    box = Sandbox(tmp_path / "client.sqlite3", token=TOKEN, block_limit=0)
    try:
        client = Client(
            {"auth": TOKEN, "base_url": "http://sandbox.local"}, client=httpx.Client(transport=SandboxTransport(box))
        )
        with pytest.raises(APIResponseError) as error:
            client.pages.create(parent={"page_id": box.root_page_id}, properties={"title": []})
        assert error.value.code == "restricted_resource"
        assert error.value.additional_data == {"block_limit": "block_creation"}
    finally:
        box.close()


# --- query lag ----------------------------------------------------------------------------------------------------


def test_query_lag_hides_new_pages_from_queries_not_from_retrieve(tmp_path: Path) -> None:
    wall = FakeWallClock()
    box = Sandbox(tmp_path / "lag.sqlite3", token=TOKEN, wall_clock=wall, query_lag_s=5)
    try:
        ds_id = make_data_source(box, V)
        old = add_row(box, V, ds_id, "old")
        wall.now += timedelta(seconds=10)
        new = add_row(box, V, ds_id, "new")
        path = f"/v1/data_sources/{ds_id}/query"
        assert names(ok(box, V, "POST", path, {})) == ["old"]
        assert ok(box, V, "GET", f"/v1/pages/{new['id']}")["id"] == new["id"]
        wall.now += timedelta(seconds=5)
        assert names(ok(box, V, "POST", path, {})) == ["old", "new"]
        assert old["id"] != new["id"]
    finally:
        box.close()


def test_no_query_lag_by_default(tmp_path: Path) -> None:
    box = Sandbox(tmp_path / "nolag.sqlite3", token=TOKEN, wall_clock=FakeWallClock())
    try:
        ds_id = make_data_source(box, V)
        add_row(box, V, ds_id, "at once")
        assert names(ok(box, V, "POST", f"/v1/data_sources/{ds_id}/query", {})) == ["at once"]
    finally:
        box.close()


# --- paging sorts once --------------------------------------------------------------------------------------------


def test_paging_reuses_the_first_pages_order_until_something_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = Sandbox(tmp_path / "paging.sqlite3", token=TOKEN, wall_clock=FakeWallClock())
    compiled: list[Any] = []
    real = core.compile_sorts

    def counting(raw: Any, schema: dict[str, Any]) -> Any:
        compiled.append(raw)
        return real(raw, schema)

    monkeypatch.setattr(core, "compile_sorts", counting)
    try:
        ds_id = make_data_source(box, "2025-09-03")
        for index in range(250):
            add_row(box, "2025-09-03", ds_id, f"row {index:03}", Votes={"number": index % 7})
        path = f"/v1/data_sources/{ds_id}/query"
        body: dict[str, Any] = {"sorts": [{"property": "Votes", "direction": "descending"}], "page_size": 100}
        seen: list[str] = []
        answer = ok(box, "2025-09-03", "POST", path, body)
        seen += [page["id"] for page in answer["results"]]
        while answer["has_more"]:
            answer = ok(box, "2025-09-03", "POST", path, {**body, "start_cursor": answer["next_cursor"]})
            seen += [page["id"] for page in answer["results"]]
        assert len(seen) == len(set(seen)) == 250
        assert len(compiled) == 1  # three pages, one filter and sort
        first = ok(box, "2025-09-03", "POST", path, body)
        add_row(box, "2025-09-03", ds_id, "late", Votes={"number": 9})
        second = ok(box, "2025-09-03", "POST", path, {**body, "start_cursor": first["next_cursor"]})
        assert len(compiled) == 3  # the write made the cached order stale: computed again
        assert "late" not in names(second)  # it sorts first, so it is on the first page of the new order
    finally:
        box.close()


def test_a_capped_sandbox_looks_like_a_multi_member_free_workspace(tmp_path: Path) -> None:
    def people(box: Sandbox) -> int:
        return sum(user["type"] == "person" for user in ok(box, V, "GET", "/v1/users")["results"])

    free = Sandbox(tmp_path / "single.sqlite3", token=TOKEN)
    capped = Sandbox(tmp_path / "multi.sqlite3", token=TOKEN, block_limit=1000)
    try:
        assert people(free) == 1  # single-member Free: unlimited blocks, per Notion's rule
        assert people(capped) == 2
        limits = ok(capped, V, "GET", "/v1/users/me")["bot"]["workspace_limits"]
        assert limits == {"max_file_upload_size_in_bytes": 5242880}  # the Free plan's 5 MiB upload limit
    finally:
        free.close()
        capped.close()
    again = Sandbox(tmp_path / "multi.sqlite3", token=TOKEN, block_limit=1000)
    try:
        assert people(again) == 2  # added once, not on every start
    finally:
        again.close()
