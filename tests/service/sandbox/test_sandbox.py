"""Unit tests of the local Notion sandbox: limits, errors, queries, blocks, rate limit, HTTP and HTML."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from wsgiref.simple_server import WSGIServer
from wsgiref.util import setup_testing_defaults

import httpx
import pytest

from service.sandbox import Sandbox, SandboxTransport, make_wsgi_app, serve

TOKEN = "test-token"


class FakeWallClock:
    """Wall-clock time the test moves by hand (timestamps, timestamp filters)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def wall() -> FakeWallClock:
    return FakeWallClock()


@pytest.fixture
def sandbox(tmp_path: Path, wall: FakeWallClock) -> Iterator[Sandbox]:
    box = Sandbox(tmp_path / "sandbox.sqlite3", token=TOKEN, wall_clock=wall)
    yield box
    box.close()


def call(
    box: Sandbox, method: str, path: str, body: Any = None, query: str = "", token: str | None = TOKEN
) -> tuple[int, dict[str, Any], dict[str, str]]:
    headers = {"Notion-Version": "2025-09-03"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    raw = json.dumps(body).encode() if body is not None else b""
    status, out_headers, data = box.handle(method, path, query, headers, raw)
    return status, json.loads(data), out_headers


def ok(box: Sandbox, method: str, path: str, body: Any = None, query: str = "") -> dict[str, Any]:
    status, answer, _ = call(box, method, path, body, query)
    assert status == 200, answer
    return answer


CANDIDATE_PROPERTIES: dict[str, Any] = {
    "Name": {"title": {}},
    "Source Key": {"rich_text": {}},
    "Source": {"select": {"options": [{"name": "Zendesk"}, {"name": "GitHub"}]}},
    "Votes": {"number": {"format": "number"}},
    "First Seen": {"date": {}},
    "OKR": {"multi_select": {}},
    "Strategic Override": {"checkbox": {}},
    "Status": {"status": {}},
    "Owner": {"people": {}},
}


def make_database(box: Sandbox, properties: dict[str, Any] | None = None, title: str = "backlog-candidates") -> str:
    """Create a database under the root page; returns its data source id."""
    db = ok(
        box,
        "POST",
        "/v1/databases",
        {
            "parent": {"type": "page_id", "page_id": box.root_page_id},
            "title": [{"text": {"content": title}}],
            "initial_data_source": {"properties": properties or CANDIDATE_PROPERTIES},
        },
    )
    return str(db["data_sources"][0]["id"])


def add_row(box: Sandbox, ds_id: str, name: str, **extra: Any) -> dict[str, Any]:
    properties = {"Name": {"title": [{"text": {"content": name}}]}, **extra}
    return ok(box, "POST", "/v1/pages", {"parent": {"data_source_id": ds_id}, "properties": properties})


def text(value: str) -> dict[str, Any]:
    return {"rich_text": [{"text": {"content": value}}]}


def query(box: Sandbox, ds_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return ok(box, "POST", f"/v1/data_sources/{ds_id}/query", body or {})


def names(answer: dict[str, Any]) -> list[str]:
    return [page["properties"]["Name"]["title"][0]["plain_text"] for page in answer["results"]]


# --- workspace, auth and errors ------------------------------------------------------------------------------


def test_new_file_is_a_small_workspace(sandbox: Sandbox) -> None:
    me = ok(sandbox, "GET", "/v1/users/me")
    assert me["id"] == sandbox.bot_user_id
    assert me["bot"]["owner"] == {"type": "workspace", "workspace": True}
    users = ok(sandbox, "GET", "/v1/users")["results"]
    person = next(u for u in users if u["type"] == "person")
    assert person["id"] == sandbox.person_user_id
    assert "@" in person["person"]["email"]
    root = ok(sandbox, "GET", f"/v1/pages/{sandbox.root_page_id}")
    assert root["parent"] == {"type": "workspace", "workspace": True}
    assert root["properties"]["title"]["title"][0]["plain_text"] == "Product — Voice Agents"


def test_file_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "kept.sqlite3"
    first = Sandbox(path, token=TOKEN)
    ds_id = make_database(first)
    add_row(first, ds_id, "kept row")
    root = first.root_page_id
    first.close()
    second = Sandbox(path, token=TOKEN)
    try:
        assert second.root_page_id == root
        assert names(query(second, ds_id)) == ["kept row"]
    finally:
        second.close()


@pytest.mark.parametrize("token", [None, "wrong"])
def test_missing_or_wrong_token_is_401(sandbox: Sandbox, token: str | None) -> None:
    status, answer, _ = call(sandbox, "GET", "/v1/users", token=token)
    assert status == 401
    assert answer["code"] == "unauthorized"
    assert answer["message"] == "API token is invalid."
    assert answer["object"] == "error"
    assert len(answer["request_id"]) == 36


def test_unknown_route_and_bad_json(sandbox: Sandbox) -> None:
    status, answer, _ = call(sandbox, "GET", "/v1/invalid")
    assert (status, answer["code"], answer["message"]) == (400, "invalid_request_url", "Invalid request URL.")
    headers = {"Authorization": f"Bearer {TOKEN}", "Notion-Version": "2025-09-03"}
    status, _, data = sandbox.handle("POST", "/v1/pages", "", headers, b"{not json")
    assert status == 400
    assert json.loads(data)["code"] == "invalid_json"


def test_unknown_page_is_404_with_notions_message(sandbox: Sandbox) -> None:
    missing = "0f0e0d0c0b0a4a4b8c8d0e0f10111213"
    status, answer, _ = call(sandbox, "GET", f"/v1/pages/{missing}")
    assert status == 404
    assert answer["code"] == "object_not_found"
    assert answer["message"] == (
        "Could not find page with ID: 0f0e0d0c-0b0a-4a4b-8c8d-0e0f10111213. "
        "Make sure the relevant pages and databases are shared with your integration."
    )


def test_ids_accepted_with_or_without_dashes(sandbox: Sandbox) -> None:
    undashed = sandbox.root_page_id.replace("-", "")
    assert ok(sandbox, "GET", f"/v1/pages/{undashed}")["id"] == sandbox.root_page_id
    status, answer, _ = call(sandbox, "GET", "/v1/pages/not-an-id")
    assert status == 400
    assert answer["code"] == "validation_error"


# --- limits ---------------------------------------------------------------------------------------------------


def test_page_size_over_100_is_rejected(sandbox: Sandbox) -> None:
    ds_id = make_database(sandbox)
    status, answer, _ = call(sandbox, "POST", f"/v1/data_sources/{ds_id}/query", {"page_size": 101})
    assert status == 400
    assert answer["code"] == "validation_error"
    assert "page_size should be ≤ `100`, instead was `101`" in answer["message"]


def test_rich_text_over_2000_characters_is_rejected(sandbox: Sandbox) -> None:
    ds_id = make_database(sandbox)
    status, answer, _ = call(
        sandbox,
        "POST",
        "/v1/pages",
        {"parent": {"data_source_id": ds_id}, "properties": {"Source Key": text("x" * 2001)}},
    )
    assert status == 400
    assert answer["code"] == "validation_error"
    assert "text.content.length should be ≤ `2000`, instead was `2001`" in answer["message"]
    assert "Source Key" in answer["message"]
    assert query(sandbox, ds_id)["results"] == []  # nothing half-written


def test_more_than_100_children_is_rejected(sandbox: Sandbox) -> None:
    children = [{"paragraph": {"rich_text": [{"text": {"content": str(i)}}]}} for i in range(101)]
    status, answer, _ = call(sandbox, "PATCH", f"/v1/blocks/{sandbox.root_page_id}/children", {"children": children})
    assert status == 400
    assert answer["message"] == "body failed validation: body.children.length should be ≤ `100`, instead was `101`."


def test_select_option_with_comma_is_rejected_and_new_options_are_created(sandbox: Sandbox) -> None:
    ds_id = make_database(sandbox)
    status, answer, _ = call(
        sandbox,
        "POST",
        "/v1/pages",
        {"parent": {"data_source_id": ds_id}, "properties": {"Source": {"select": {"name": "G2, Gong"}}}},
    )
    assert status == 400
    assert "commas not allowed" in answer["message"]
    add_row(sandbox, ds_id, "new option", Source={"select": {"name": "Discord"}})
    options = ok(sandbox, "GET", f"/v1/data_sources/{ds_id}")["properties"]["Source"]["select"]["options"]
    assert [o["name"] for o in options] == ["Zendesk", "GitHub", "Discord"]


def test_status_value_must_already_exist(sandbox: Sandbox) -> None:
    ds_id = make_database(sandbox)
    status, answer, _ = call(
        sandbox,
        "POST",
        "/v1/pages",
        {"parent": {"data_source_id": ds_id}, "properties": {"Status": {"status": {"name": "Triaged"}}}},
    )
    assert status == 400
    assert "Triaged" in answer["message"]
    page = add_row(sandbox, ds_id, "done", Status={"status": {"name": "Done"}})
    assert page["properties"]["Status"]["status"]["name"] == "Done"


def test_unknown_property_and_wrong_value_type(sandbox: Sandbox) -> None:
    ds_id = make_database(sandbox)
    parent = {"data_source_id": ds_id}
    status, answer, _ = call(sandbox, "POST", "/v1/pages", {"parent": parent, "properties": {"Nope": text("x")}})
    assert (status, answer["message"]) == (400, "Nope is not a property that exists.")
    status, answer, _ = call(sandbox, "POST", "/v1/pages", {"parent": parent, "properties": {"Votes": "many"}})
    assert (status, answer["message"]) == (400, "Votes is expected to be number.")


# --- pages ----------------------------------------------------------------------------------------------------


def test_page_shows_every_property_with_notions_empty_values(sandbox: Sandbox) -> None:
    ds_id = make_database(sandbox)
    page = add_row(sandbox, ds_id, "only a name")
    props = page["properties"]
    assert props["Source Key"]["rich_text"] == []
    assert props["Votes"]["number"] is None
    assert props["Source"]["select"] is None
    assert props["OKR"]["multi_select"] == []
    assert props["Strategic Override"]["checkbox"] is False
    assert props["First Seen"]["date"] is None
    assert props["Name"]["id"] == "title"
    assert page["created_by"] == {"object": "user", "id": sandbox.bot_user_id}
    assert page["created_time"] == "2026-03-02T09:00:00.000Z"
    assert page["parent"]["data_source_id"] == ds_id


def test_trashed_pages_leave_queries_and_refuse_edits(sandbox: Sandbox) -> None:
    ds_id = make_database(sandbox)
    page = add_row(sandbox, ds_id, "to trash")
    add_row(sandbox, ds_id, "to keep")
    trashed = ok(sandbox, "PATCH", f"/v1/pages/{page['id']}", {"in_trash": True})
    assert trashed["in_trash"] is True
    assert trashed["archived"] is True
    assert names(query(sandbox, ds_id)) == ["to keep"]
    status, answer, _ = call(sandbox, "PATCH", f"/v1/pages/{page['id']}", {"properties": {"Votes": 3}})
    assert status == 400
    assert "archived" in answer["message"]
    ok(sandbox, "PATCH", f"/v1/pages/{page['id']}", {"archived": False})
    assert sorted(names(query(sandbox, ds_id))) == ["to keep", "to trash"]


def test_relation_shows_25_ids_and_property_item_pages_the_rest(sandbox: Sandbox) -> None:
    ds_id = make_database(sandbox)
    ok(
        sandbox,
        "PATCH",
        f"/v1/data_sources/{ds_id}",
        {"properties": {"Possible Duplicate": {"relation": {"data_source_id": ds_id, "single_property": {}}}}},
    )
    targets = [add_row(sandbox, ds_id, f"t{i}")["id"] for i in range(30)]
    page = add_row(sandbox, ds_id, "many", **{"Possible Duplicate": {"relation": [{"id": t} for t in targets]}})
    relation = page["properties"]["Possible Duplicate"]
    assert len(relation["relation"]) == 25
    assert relation["has_more"] is True
    first = ok(sandbox, "GET", f"/v1/pages/{page['id']}/properties/{relation['id']}", query="page_size=20")
    assert first["has_more"] is True
    second = ok(
        sandbox,
        "GET",
        f"/v1/pages/{page['id']}/properties/{relation['id']}",
        query=f"page_size=20&start_cursor={first['next_cursor']}",
    )
    assert [item["relation"]["id"] for item in first["results"] + second["results"]] == targets
    assert second["has_more"] is False


def test_data_source_update_renames_adds_and_removes_properties(sandbox: Sandbox) -> None:
    ds_id = make_database(sandbox)
    before = ok(sandbox, "GET", f"/v1/data_sources/{ds_id}")["properties"]
    updated = ok(
        sandbox,
        "PATCH",
        f"/v1/data_sources/{ds_id}",
        {
            "properties": {
                "Votes": {"name": "Upvotes"},
                "OKR": None,
                "RICE": {"number": {}},
                "Source": {"select": {"options": [{"name": "Zendesk"}, {"name": "GitHub"}, {"name": "Manual"}]}},
            }
        },
    )["properties"]
    assert updated["Upvotes"]["id"] == before["Votes"]["id"]
    assert "OKR" not in updated
    assert "Votes" not in updated
    assert updated["RICE"]["type"] == "number"
    source_options = updated["Source"]["select"]["options"]
    assert [o["name"] for o in source_options] == ["Zendesk", "GitHub", "Manual"]
    assert source_options[0]["id"] == before["Source"]["select"]["options"][0]["id"]


# --- queries ----------------------------------------------------------------------------------------------------


@pytest.fixture
def filled(sandbox: Sandbox, wall: FakeWallClock) -> str:
    """Four candidates created one day apart (for timestamp filters)."""
    ds_id = make_database(sandbox)
    rows = [
        ("alpha", "zendesk:1", "Zendesk", 5, "2026-01-10", ["O1"], True),
        ("beta", "github:acme/x#2", "GitHub", 12, "2026-02-01", ["O1", "O2"], False),
        ("gamma", "zendesk:3", "Zendesk", None, None, [], False),
        ("delta", "", None, 1, "2026-02-20T10:00:00+00:00", ["O3"], False),
    ]
    for name, key, source, votes, seen, okrs, override in rows:
        extra: dict[str, Any] = {
            "Source Key": text(key),
            "Votes": votes,
            "OKR": {"multi_select": [{"name": o} for o in okrs]},
            "Strategic Override": {"checkbox": override},
            "First Seen": {"date": {"start": seen}} if seen else {"date": None},
        }
        if source:
            extra["Source"] = {"select": {"name": source}}
        add_row(sandbox, ds_id, name, **extra)
        wall.now += timedelta(days=1)
    return ds_id


def test_or_of_rich_text_equals(sandbox: Sandbox, filled: str) -> None:
    keys = ["zendesk:1", "zendesk:3", "zendesk:404"]
    answer = query(
        sandbox, filled, {"filter": {"or": [{"property": "Source Key", "rich_text": {"equals": k}} for k in keys]}}
    )
    assert sorted(names(answer)) == ["alpha", "gamma"]


def test_and_with_number_select_and_checkbox(sandbox: Sandbox, filled: str) -> None:
    answer = query(
        sandbox,
        filled,
        {
            "filter": {
                "and": [
                    {"property": "Votes", "number": {"greater_than_or_equal_to": 5}},
                    {"property": "Source", "select": {"does_not_equal": "GitHub"}},
                    {"property": "Strategic Override", "checkbox": {"equals": True}},
                ]
            }
        },
    )
    assert names(answer) == ["alpha"]


def test_is_empty_contains_and_nested_compound(sandbox: Sandbox, filled: str) -> None:
    assert names(query(sandbox, filled, {"filter": {"property": "Votes", "number": {"is_empty": True}}})) == ["gamma"]
    assert names(query(sandbox, filled, {"filter": {"property": "Source", "select": {"is_empty": True}}})) == ["delta"]
    empty_key = {"property": "Source Key", "rich_text": {"is_empty": True}}
    assert names(query(sandbox, filled, {"filter": empty_key})) == ["delta"]
    okr = {"property": "OKR", "multi_select": {"contains": "O1"}}
    nested = {"or": [{"and": [okr, {"property": "Votes", "number": {"greater_than": 10}}]}, empty_key]}
    assert sorted(names(query(sandbox, filled, {"filter": nested}))) == ["beta", "delta"]
    title = {"property": "Name", "title": {"contains": "ALP"}}
    assert names(query(sandbox, filled, {"filter": title})) == ["alpha"]


def test_date_filters(sandbox: Sandbox, filled: str) -> None:
    def run(condition: dict[str, Any]) -> list[str]:
        return sorted(names(query(sandbox, filled, {"filter": {"property": "First Seen", "date": condition}})))

    assert run({"on_or_after": "2026-02-01"}) == ["beta", "delta"]
    assert run({"before": "2026-02-01"}) == ["alpha"]
    assert run({"on_or_before": "2026-02-20"}) == ["alpha", "beta", "delta"]
    assert run({"after": "2026-02-20T09:00:00Z"}) == ["delta"]
    assert run({"is_empty": True}) == ["gamma"]


def test_timestamp_filter_and_sort(sandbox: Sandbox, filled: str) -> None:
    answer = query(
        sandbox,
        filled,
        {
            "filter": {"timestamp": "created_time", "created_time": {"on_or_after": "2026-03-03T09:00:00Z"}},
            "sorts": [{"timestamp": "created_time", "direction": "descending"}],
        },
    )
    assert names(answer) == ["delta", "gamma", "beta"]


def test_property_sorts_put_empty_values_last(sandbox: Sandbox, filled: str) -> None:
    descending = query(sandbox, filled, {"sorts": [{"property": "Votes", "direction": "descending"}]})
    assert names(descending) == ["beta", "alpha", "delta", "gamma"]
    ascending = query(sandbox, filled, {"sorts": [{"property": "Votes", "direction": "ascending"}]})
    assert names(ascending) == ["delta", "alpha", "beta", "gamma"]
    by_source = query(
        sandbox,
        filled,
        {"sorts": [{"property": "Source", "direction": "ascending"}, {"property": "Name", "direction": "ascending"}]},
    )
    assert names(by_source) == ["alpha", "gamma", "beta", "delta"]  # option order: Zendesk, GitHub; empty last


def test_filter_on_unknown_property_or_wrong_type_is_400(sandbox: Sandbox, filled: str) -> None:
    status, answer, _ = call(
        sandbox, "POST", f"/v1/data_sources/{filled}/query", {"filter": {"property": "Nope", "rich_text": {}}}
    )
    assert status == 400
    assert "Nope" in answer["message"]
    status, _, _ = call(
        sandbox,
        "POST",
        f"/v1/data_sources/{filled}/query",
        {"filter": {"property": "Votes", "rich_text": {"equals": "5"}}},
    )
    assert status == 400


def test_cursor_pagination_over_250_rows(sandbox: Sandbox) -> None:
    ds_id = make_database(sandbox, {"Name": {"title": {}}})
    for index in range(250):
        add_row(sandbox, ds_id, f"row {index}")
    seen: list[str] = []
    sizes: list[int] = []
    cursor = None
    while True:
        body: dict[str, Any] = {"page_size": 100}
        if cursor:
            body["start_cursor"] = cursor
        answer = query(sandbox, ds_id, body)
        sizes.append(len(answer["results"]))
        seen += [page["id"] for page in answer["results"]]
        if not answer["has_more"]:
            assert answer["next_cursor"] is None
            break
        cursor = answer["next_cursor"]
    assert sizes == [100, 100, 50]
    assert len(set(seen)) == 250
    assert "request_status" not in answer


def test_query_result_cap_stops_with_incomplete_status(sandbox: Sandbox) -> None:
    sandbox.query_result_limit = 5
    ds_id = make_database(sandbox, {"Name": {"title": {}}})
    for index in range(8):
        add_row(sandbox, ds_id, f"row {index}")
    first = query(sandbox, ds_id, {"page_size": 3})
    assert first["has_more"] is True
    assert "request_status" not in first
    second = query(sandbox, ds_id, {"page_size": 3, "start_cursor": first["next_cursor"]})
    assert len(second["results"]) == 2
    assert second["has_more"] is False
    assert second["next_cursor"] is None
    assert second["request_status"] == {"type": "incomplete", "incomplete_reason": "query_result_limit_reached"}


def test_or_of_100_equals_over_1000_rows(sandbox: Sandbox) -> None:
    ds_id = make_database(sandbox, {"Name": {"title": {}}, "Source Key": {"rich_text": {}}})
    for index in range(1000):
        add_row(sandbox, ds_id, f"r{index}", **{"Source Key": text(f"k:{index}")})
    wanted = [f"k:{index}" for index in range(0, 1000, 10)]
    filter_ = {"or": [{"property": "Source Key", "rich_text": {"equals": key}} for key in wanted]}
    answer = query(sandbox, ds_id, {"filter": filter_, "page_size": 100})
    assert len(answer["results"]) == 100
    assert answer["has_more"] is False


# --- blocks -----------------------------------------------------------------------------------------------------


def paragraph(content: str) -> dict[str, Any]:
    return {"object": "block", "type": "paragraph", "paragraph": {"rich_text": [{"text": {"content": content}}]}}


def test_append_after_and_nested_children(sandbox: Sandbox) -> None:
    page = ok(
        sandbox,
        "POST",
        "/v1/pages",
        {"parent": {"page_id": sandbox.root_page_id}, "properties": {"title": [{"text": {"content": "Sprint 12"}}]}},
    )
    path = f"/v1/blocks/{page['id']}/children"
    first = ok(sandbox, "PATCH", path, {"children": [paragraph("A"), paragraph("C")]})["results"]
    ok(sandbox, "PATCH", path, {"children": [paragraph("B")], "after": first[0]["id"]})
    toggle = {"toggle": {"rich_text": [{"text": {"content": "T"}}], "children": [paragraph("inside")]}}
    appended = ok(sandbox, "PATCH", path, {"children": [toggle]})["results"][0]
    assert appended["has_children"] is True
    listed = ok(sandbox, "GET", path)["results"]
    assert [b[b["type"]]["rich_text"][0]["plain_text"] for b in listed] == ["A", "B", "C", "T"]
    inner = ok(sandbox, "GET", f"/v1/blocks/{appended['id']}/children")["results"]
    assert inner[0]["parent"] == {"type": "block_id", "block_id": appended["id"]}
    # The page shows up as a child_page block of its parent.
    root_children = ok(sandbox, "GET", f"/v1/blocks/{sandbox.root_page_id}/children")["results"]
    assert {"type": "child_page", "title": "Sprint 12"} in [
        {"type": b["type"], "title": b.get("child_page", {}).get("title")} for b in root_children
    ]


def test_delete_block_archives_it(sandbox: Sandbox) -> None:
    path = f"/v1/blocks/{sandbox.root_page_id}/children"
    block = ok(sandbox, "PATCH", path, {"children": [paragraph("bye")]})["results"][0]
    deleted = ok(sandbox, "DELETE", f"/v1/blocks/{block['id']}")
    assert deleted["in_trash"] is True
    assert deleted["archived"] is True
    assert ok(sandbox, "GET", path)["results"] == []


def test_editing_deleting_or_nesting_a_block_moves_its_pages_last_edited_time(
    sandbox: Sandbox, wall: FakeWallClock
) -> None:
    page = sandbox.root_page_id
    path = f"/v1/blocks/{page}/children"
    toggle = {"object": "block", "type": "toggle", "toggle": {"rich_text": [{"text": {"content": "t"}}]}}
    block, parent = ok(sandbox, "PATCH", path, {"children": [paragraph("one"), toggle]})["results"]

    def stamp() -> str:
        return str(ok(sandbox, "GET", f"/v1/pages/{page}")["last_edited_time"])

    seen = [stamp()]
    for change in (
        lambda: ok(sandbox, "PATCH", f"/v1/blocks/{block['id']}", {"paragraph": paragraph("two")["paragraph"]}),
        lambda: ok(sandbox, "PATCH", f"/v1/blocks/{parent['id']}/children", {"children": [paragraph("inner")]}),
        lambda: ok(sandbox, "DELETE", f"/v1/blocks/{block['id']}"),
    ):
        wall.now += timedelta(minutes=2)
        change()
        seen.append(stamp())
    assert len(set(seen)) == 4  # each change moved the page's minute, as Notion does


# --- search -----------------------------------------------------------------------------------------------------


def test_search_filters_by_object_and_query(sandbox: Sandbox) -> None:
    ds_id = make_database(sandbox)
    found = ok(
        sandbox, "POST", "/v1/search", {"query": "candidates", "filter": {"property": "object", "value": "data_source"}}
    )
    assert [r["id"] for r in found["results"]] == [ds_id]
    pages = ok(sandbox, "POST", "/v1/search", {"filter": {"property": "object", "value": "page"}})
    assert [r["object"] for r in pages["results"]] == ["page"]


# --- rate limit -------------------------------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    now = [100.0]
    box = Sandbox(tmp_path / "limited.sqlite3", token=TOKEN, rate_limit=2, clock=lambda: now[0])
    try:
        assert call(box, "GET", "/v1/users/me")[0] == 200
        assert call(box, "GET", "/v1/users/me")[0] == 200
        status, answer, headers = call(box, "GET", "/v1/users/me")
        assert status == 429
        assert answer["code"] == "rate_limited"
        assert answer["message"] == "You have been rate limited. Please try again in a few minutes."
        assert headers["Retry-After"] == "1"
        now[0] += 0.5
        assert call(box, "GET", "/v1/users/me")[0] == 200
    finally:
        box.close()


# --- transports: real HTTP, WSGI HTML, notion_client -------------------------------------------------------------


def test_serve_over_loopback_http(sandbox: Sandbox) -> None:
    ready = threading.Event()
    servers: list[WSGIServer] = []

    def on_ready(server: WSGIServer) -> None:
        servers.append(server)
        ready.set()

    thread = threading.Thread(target=serve, args=(sandbox, "127.0.0.1", 0, on_ready), daemon=True)
    thread.start()
    assert ready.wait(10)
    host, port = servers[0].server_address[:2]
    try:
        response = httpx.get(
            f"http://{host!s}:{port}/v1/users/me",
            headers={"Authorization": f"Bearer {TOKEN}", "Notion-Version": "2025-09-03"},
            timeout=10,
        )
        assert response.status_code == 200
        assert response.json()["id"] == sandbox.bot_user_id
    finally:
        servers[0].shutdown()
        thread.join(10)
    assert not thread.is_alive()


def wsgi_get(box: Sandbox, path: str) -> tuple[str, str]:
    environ: dict[str, Any] = {"PATH_INFO": path, "REQUEST_METHOD": "GET"}
    setup_testing_defaults(environ)
    environ["PATH_INFO"] = path
    statuses: list[str] = []
    body = b"".join(make_wsgi_app(box)(environ, lambda status, headers: statuses.append(status)))
    return statuses[0], body.decode("utf-8")


def test_html_view_renders_a_database_as_a_table(sandbox: Sandbox) -> None:
    ds_id = make_database(sandbox)
    row = add_row(sandbox, ds_id, "<script>alert(1)</script>", Votes=7, Source={"select": {"name": "GitHub"}})
    db_id = ok(sandbox, "GET", f"/v1/data_sources/{ds_id}")["parent"]["database_id"]
    status, index = wsgi_get(sandbox, "/")
    assert status.startswith("200")
    assert "backlog-candidates" in index
    status, html = wsgi_get(sandbox, f"/p/{db_id.replace('-', '')}")
    assert status.startswith("200")
    assert "<th>Source Key</th>" in html
    assert "<th>Votes</th>" in html
    assert "<td>7</td>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert f"/p/{row['id'].replace('-', '')}" in html.replace("script-alert-1-script-", "")
    status, page_html = wsgi_get(sandbox, f"/p/{row['id'].replace('-', '')}")
    assert status.startswith("200")
    assert "GitHub" in page_html
    assert wsgi_get(sandbox, "/p/ffffffffffffffffffffffffffffffff")[0].startswith("404")


def test_html_view_renders_blocks(sandbox: Sandbox) -> None:
    table = {
        "table": {
            "table_width": 2,
            "has_column_header": True,
            "children": [
                {"table_row": {"cells": [[{"text": {"content": "Item"}}], [{"text": {"content": "RICE"}}]]}},
                {"table_row": {"cells": [[{"text": {"content": "SSO"}}], [{"text": {"content": "42"}}]]}},
            ],
        }
    }
    children = [
        {"heading_2": {"rich_text": [{"text": {"content": "Plan"}}]}},
        {"bulleted_list_item": {"rich_text": [{"text": {"content": "one"}}]}},
        {"callout": {"rich_text": [{"text": {"content": "Risk"}}]}},
        table,
    ]
    ok(sandbox, "PATCH", f"/v1/blocks/{sandbox.root_page_id}/children", {"children": children})
    _, html = wsgi_get(sandbox, f"/p/{sandbox.root_page_id.replace('-', '')}")
    assert "<h2>Plan</h2>" in html
    assert "<ul><li>one</li></ul>" in html
    assert "class='callout'" in html
    assert "<th>Item</th>" in html
    assert "<td>42</td>" in html


def test_notion_client_through_sandbox_transport(sandbox: Sandbox) -> None:
    from notion_client import Client

    client = Client(
        {"auth": TOKEN, "base_url": "http://sandbox.local"},
        client=httpx.Client(transport=SandboxTransport(sandbox)),
    )
    db = cast(
        dict[str, Any],
        client.databases.create(
            parent={"type": "page_id", "page_id": sandbox.root_page_id},
            title=[{"type": "text", "text": {"content": "backlog-candidates"}}],
            initial_data_source={"properties": {"Name": {"title": {}}, "Source Key": {"rich_text": {}}}},
        ),
    )
    ds_id = db["data_sources"][0]["id"]
    created = cast(
        dict[str, Any],
        client.pages.create(
            parent={"data_source_id": ds_id},
            properties={
                "Name": {"title": [{"text": {"content": "SSO for pilots"}}]},
                "Source Key": {"rich_text": [{"text": {"content": "zendesk:1"}}]},
            },
        ),
    )
    found = cast(
        dict[str, Any],
        client.data_sources.query(
            data_source_id=ds_id, filter={"property": "Source Key", "rich_text": {"equals": "zendesk:1"}}
        ),
    )
    assert [page["id"] for page in found["results"]] == [created["id"]]
    from notion_client import APIResponseError

    with pytest.raises(APIResponseError) as error:
        client.pages.retrieve(page_id="0f0e0d0c0b0a4a4b8c8d0e0f10111213")
    assert error.value.code == "object_not_found"


def test_failed_request_changes_nothing(sandbox: Sandbox) -> None:
    ds_id = make_database(sandbox)
    page = add_row(sandbox, ds_id, "stays")
    status, _, _ = call(sandbox, "PATCH", f"/v1/pages/{page['id']}", {"in_trash": True, "properties": {"Nope": 1}})
    assert status == 400
    assert ok(sandbox, "GET", f"/v1/pages/{page['id']}")["in_trash"] is False


def test_two_processes_on_one_file_see_each_others_writes(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    server, cli = Sandbox(path, token=TOKEN), Sandbox(path, token=TOKEN)
    try:
        ds_id = make_database(server)
        page = add_row(server, ds_id, "v1")
        assert names(query(cli, ds_id)) == ["v1"]
        ok(cli, "PATCH", f"/v1/pages/{page['id']}", {"properties": {"Name": {"title": [{"text": {"content": "v2"}}]}}})
        assert names(query(server, ds_id)) == ["v2"]
    finally:
        server.close()
        cli.close()


def test_dual_relation_keeps_both_sides_in_step(sandbox: Sandbox) -> None:
    ds_id = make_database(sandbox, {"Name": {"title": {}}})
    props = ok(
        sandbox,
        "PATCH",
        f"/v1/data_sources/{ds_id}",
        {
            "properties": {
                "Merged Into": {
                    "relation": {"data_source_id": ds_id, "dual_property": {"synced_property_name": "Merged From"}}
                }
            }
        },
    )["properties"]
    assert props["Merged From"]["relation"]["dual_property"]["synced_property_id"] == props["Merged Into"]["id"]
    target = add_row(sandbox, ds_id, "target")
    source = add_row(sandbox, ds_id, "dup", **{"Merged Into": {"relation": [{"id": target["id"]}]}})
    merged_from = ok(sandbox, "GET", f"/v1/pages/{target['id']}")["properties"]["Merged From"]["relation"]
    assert merged_from == [{"id": source["id"]}]
    ok(sandbox, "PATCH", f"/v1/pages/{source['id']}", {"properties": {"Merged Into": {"relation": []}}})
    assert ok(sandbox, "GET", f"/v1/pages/{target['id']}")["properties"]["Merged From"]["relation"] == []
