"""NotionGateway against a small in-memory Notion served at the transport by pytest-httpx (no network).

`FakeNotion` answers the endpoints the gateway uses with the shapes of the recorded cassettes
(/work/shared/notion-cassettes). One-shot failures (429, 529, 5xx, timeouts) are scripted with `fake.fail(...)`:
the next matching request gets that response (or exception) and every later one the fake's normal answer.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from pytest_httpx import HTTPXMock

from connectors.http import RateLimiter
from service.notion.gateway import (
    CallCounter,
    NotionAuthError,
    NotionGateway,
    NotionNotFoundError,
    NotionUnavailableError,
    NotionValidationError,
    RowWrite,
)
from service.notion.schema import SCHEMA, SYNC_OWNED
from service.settings import Settings

API = "https://api.notion.test"
TOKEN = "ntn_TESTSECRET0123456789"
T0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:00.000Z")


def _rich(text: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": {"content": text, "link": None}, "plain_text": text, "href": None}]


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"object": "error", "status": status, "code": code, "message": message, "request_id": "r-1"}
    return httpx.Response(status, json=body, headers=headers or {})


class FakeNotion:
    """Just enough of Notion (API 2025-09-03) for the gateway: one database, pages, blocks, search."""

    def __init__(self, *, page_size: int = 100, cap: int = 10_000) -> None:
        self.page_size = page_size
        self.cap = cap
        self.requests: list[tuple[str, str, Any]] = []
        self.database_id: str | None = None
        self.data_source_id: str | None = None
        self.title = "backlog-candidates"
        self.properties: dict[str, dict[str, Any]] = {}
        self.pages: dict[str, dict[str, Any]] = {}
        self.children: dict[str, list[dict[str, Any]]] = {}
        self.root_page_id = str(uuid.uuid4())
        self.apply_then_fail: list[int] = []  # statuses returned by the next POST /pages *after* creating it
        self.script: list[tuple[str, str, httpx.Response | Exception]] = []
        self._clock = T0

    # --- seeding ------------------------------------------------------------------------------------------
    def add_database(self, properties: dict[str, str | dict[str, Any]]) -> None:
        self.database_id, self.data_source_id = str(uuid.uuid4()), str(uuid.uuid4())
        for name, spec in properties.items():
            config = {spec: {}} if isinstance(spec, str) else spec
            kind = next(iter(config))
            self.properties[name] = {"id": name[:4], "name": name, "type": kind, **config}

    def add_full_database(self) -> None:
        schema: dict[str, str | dict[str, Any]] = {}
        for spec in SCHEMA:
            if spec.type == "relation":
                schema[spec.name] = {"relation": {"data_source_id": "SELF", "type": "single_property"}}
            elif spec.options:
                schema[spec.name] = {spec.type: {"options": [{"name": o} for o in spec.options]}}
            else:
                schema[spec.name] = spec.type
        self.add_database(schema)
        for prop in self.properties.values():
            if prop["type"] == "relation":
                prop["relation"]["data_source_id"] = self.data_source_id

    def add_row(self, key: str, *, created: datetime | None = None, **values: Any) -> str:
        props = {"Source Key": {"rich_text": [{"text": {"content": key}}]}}
        for name, value in values.items():
            kind = self.properties[name]["type"]
            props[name] = {kind: [{"text": {"content": value}}]} if kind in ("title", "rich_text") else {kind: value}
        return str(self._create_page({"data_source_id": self.data_source_id}, props, created=created)["id"])

    def fail(self, method: str, pattern: str, outcome: httpx.Response | Exception) -> None:
        """The next `method` request whose path fully matches `pattern` gets `outcome` instead of an answer."""
        self.script.append((method, pattern, outcome))

    # --- plumbing -----------------------------------------------------------------------------------------
    def count(self, method: str, pattern: str) -> int:
        return sum(1 for m, path, _ in self.requests if m == method and re.fullmatch(pattern, path))

    def bodies(self, method: str, pattern: str) -> list[Any]:
        return [body for m, path, body in self.requests if m == method and re.fullmatch(pattern, path)]

    def _stored(self, kind: str, value: Any) -> Any:
        if kind in ("title", "rich_text"):
            return [{**item, "plain_text": item["text"]["content"]} for item in value]
        return value

    def _create_page(self, parent: dict[str, Any], props: dict[str, Any], created: datetime | None = None) -> Any:
        self._clock += timedelta(minutes=1)
        page_id = str(uuid.uuid4())
        stored: dict[str, Any] = {}
        for name, value in props.items():
            kind = next(iter(value)) if name != "title" else "title"
            stored[name] = {"id": name[:4], "type": kind, kind: self._stored(kind, value[kind])}
        moment = _iso(created or self._clock)
        page = {
            "object": "page",
            "id": page_id,
            "created_time": moment,
            "last_edited_time": moment,
            "last_edited_by": {"object": "user", "id": "bot-1"},
            "parent": parent,
            "in_trash": False,
            "properties": stored,
            "url": f"https://app.notion.com/p/{page_id.replace('-', '')}",
        }
        self.pages[page_id] = page
        return page

    def _matches(self, page: dict[str, Any], flt: dict[str, Any] | None) -> bool:
        if flt is None:
            return True
        if "or" in flt:
            return any(self._matches(page, f) for f in flt["or"])
        if "and" in flt:
            return all(self._matches(page, f) for f in flt["and"])
        if flt.get("timestamp") == "created_time":
            return bool(page["created_time"] >= flt["created_time"]["on_or_after"])
        prop = page["properties"].get(flt["property"])
        text = "".join(i["plain_text"] for i in prop["rich_text"]) if prop else ""
        return bool(text == flt["rich_text"]["equals"])

    def _query(self, body: dict[str, Any]) -> dict[str, Any]:
        rows = [
            p
            for p in self.pages.values()
            if p["parent"].get("data_source_id") == self.data_source_id and not p["in_trash"]
        ]
        rows = sorted((p for p in rows if self._matches(p, body.get("filter"))), key=lambda p: p["created_time"])
        capped = len(rows) > self.cap
        rows = rows[: self.cap]
        start = int(body.get("start_cursor") or 0)
        size = min(self.page_size, int(body.get("page_size", 100)))
        chunk = rows[start : start + size]
        has_more = start + size < len(rows)
        answer: dict[str, Any] = {
            "object": "list",
            "results": chunk,
            "next_cursor": str(start + size) if has_more else None,
            "has_more": has_more,
            "type": "page_or_data_source",
            "page_or_data_source": {},
        }
        if capped and not has_more:
            answer["request_status"] = {"incomplete_reason": "query_result_limit_reached"}
        return answer

    def _data_source(self) -> dict[str, Any]:
        return {
            "object": "data_source",
            "id": self.data_source_id,
            "title": _rich(self.title),
            "properties": self.properties,
            "parent": {"type": "database_id", "database_id": self.database_id},
            "url": f"https://app.notion.com/p/{(self.database_id or '').replace('-', '')}",
            "in_trash": False,
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v1/")
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.method, path, body))
        for index, (method, pattern, outcome) in enumerate(self.script):
            if method == request.method and re.fullmatch(pattern, path):
                del self.script[index]
                if isinstance(outcome, Exception):
                    raise outcome
                return outcome
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return _error(401, "unauthorized", "API token is invalid.")
        return self._route(request.method, path, body or {})

    def _route(self, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
        if (method, path) == ("GET", "users/me"):
            return httpx.Response(200, json={"object": "user", "id": "bot-1", "type": "bot"})
        if (method, path) == ("POST", "search"):
            wanted = (body.get("filter") or {}).get("value")
            results: list[Any] = []
            if wanted == "data_source" and self.data_source_id and body.get("query", "") in self.title:
                results = [self._data_source()]
            if wanted == "page":
                results = [{"object": "page", "id": self.root_page_id, "parent": {"type": "workspace"}}]
            return httpx.Response(200, json={"object": "list", "results": results, "has_more": False})
        if (method, path) == ("POST", "databases"):
            self.add_database({})
            self.title = body["title"][0]["text"]["content"]
            for name, config in body["initial_data_source"]["properties"].items():
                kind = next(iter(config))
                self.properties[name] = {"id": name[:4], "name": name, "type": kind, **config}
            return httpx.Response(
                200,
                json={
                    "object": "database",
                    "id": self.database_id,
                    "data_sources": [{"id": self.data_source_id, "name": self.title}],
                    "url": self._data_source()["url"],
                },
            )
        if method == "GET" and path == f"databases/{self.database_id}":
            return httpx.Response(
                200,
                json={
                    "object": "database",
                    "id": self.database_id,
                    "title": _rich(self.title),
                    "data_sources": [{"id": self.data_source_id, "name": self.title}],
                    "url": "https://app.notion.com/p/db",
                },
            )
        if path == f"data_sources/{self.data_source_id}":
            if method == "PATCH":
                for name, config in body.get("properties", {}).items():
                    kind = next(iter(config))
                    self.properties[name] = {"id": name[:4], "name": name, "type": kind, **config}
            return httpx.Response(200, json=self._data_source())
        if method == "POST" and path == f"data_sources/{self.data_source_id}/query":
            return httpx.Response(200, json=self._query(body))
        if (method, path) == ("POST", "pages"):
            page = self._create_page(body["parent"], body["properties"])
            self.children[page["id"]] = [
                {"object": "block", "id": str(uuid.uuid4()), **b} for b in body.get("children", [])
            ]
            if "page_id" in body["parent"]:
                title = body["properties"]["title"]["title"][0]["text"]["content"]
                block = {"object": "block", "id": page["id"], "type": "child_page", "child_page": {"title": title}}
                self.children.setdefault(body["parent"]["page_id"], []).append(block)
            if self.apply_then_fail:
                return _error(self.apply_then_fail.pop(0), "internal_server_error", "Unexpected error.")
            return httpx.Response(200, json=page)
        if match := re.fullmatch(r"pages/([^/]+)", path):
            page = self.pages.get(match.group(1))
            if page is None:
                return _error(404, "object_not_found", f"Could not find page with ID: {match.group(1)}.")
            for name, value in body.get("properties", {}).items():
                kind = next(iter(value))
                page["properties"][name] = {"id": name[:4], "type": kind, kind: self._stored(kind, value[kind])}
            return httpx.Response(200, json=page)
        if match := re.fullmatch(r"pages/([^/]+)/properties/([^/]+)", path):
            ids = [{"object": "property_item", "type": "relation", "relation": {"id": f"rel-{i}"}} for i in range(30)]
            return httpx.Response(200, json={"object": "list", "results": ids, "has_more": False})
        if match := re.fullmatch(r"blocks/([^/]+)/children", path):
            kids = self.children.setdefault(match.group(1), [])
            if method == "PATCH":
                new = [{"object": "block", "id": str(uuid.uuid4()), **b} for b in body["children"]]
                kids.extend(new)
                return httpx.Response(200, json={"object": "list", "results": new, "has_more": False})
            return httpx.Response(200, json={"object": "list", "results": kids, "has_more": False})
        if method == "DELETE" and (match := re.fullmatch(r"blocks/([^/]+)", path)):
            for kids in self.children.values():
                kids[:] = [b for b in kids if b.get("id") != match.group(1)]
            return httpx.Response(200, json={"object": "block", "id": match.group(1), "in_trash": True})
        return _error(400, "invalid_request_url", "Invalid request URL.")


@pytest.fixture
def fake(httpx_mock: HTTPXMock) -> FakeNotion:
    """The fake, serving every request (reusable, and optional so a test may make no call at all)."""
    notion = FakeNotion()
    httpx_mock.add_callback(notion, is_reusable=True, is_optional=True)
    return notion


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make_gateway(sleeps: list[float], **overrides: Any) -> NotionGateway:
    values: dict[str, Any] = {"notion_token": SecretStr(TOKEN), "notion_api_url": API, "notion_max_retries": 3}
    values.update(overrides)
    settings = Settings(**values)
    limiter = RateLimiter(1000.0, burst=1000, sleep=lambda _s: None)  # never waits: tests assert retry sleeps
    return NotionGateway.from_settings(settings, sleep=sleeps.append, limiter=limiter)


def write_for(key: str, **props: Any) -> RowWrite:
    base: dict[str, Any] = {"Name": f"Title {key}", "Source": "Zendesk", "Votes": 1, "Last Seen": T0}
    return RowWrite(key, {**base, **props}, {"Status": "New", "Type": "Feature"})


# --- the retry policy ----------------------------------------------------------------------------------------


def test_429_waits_retry_after_then_succeeds(fake: FakeNotion, sleeps: list[float]) -> None:
    fake.fail("GET", "users/me", _error(429, "rate_limited", "Rate limited.", {"Retry-After": "7"}))
    gateway = make_gateway(sleeps)
    assert gateway.bot_user_id() == "bot-1"
    assert sleeps == [7.0]
    assert gateway.calls.by_endpoint() == {"users.me": 2}
    assert gateway.bot_user_id() == "bot-1"  # cached: no third call
    assert gateway.calls.total == 2


def test_429_pauses_the_shared_limiter(fake: FakeNotion, sleeps: list[float]) -> None:
    fake.fail("GET", "users/me", _error(429, "rate_limited", "Rate limited.", {"Retry-After": "3"}))
    paused: list[float] = []
    acquired: list[int] = []

    class SpyLimiter(RateLimiter):
        def acquire(self) -> float:
            acquired.append(1)
            return 0.0

        def pause(self, seconds: float) -> None:
            paused.append(seconds)

    settings = Settings(notion_token=SecretStr(TOKEN), notion_api_url=API)
    gateway = NotionGateway.from_settings(settings, sleep=sleeps.append, limiter=SpyLimiter(1.0))
    gateway.bot_user_id()
    assert paused == [3.0]
    assert len(acquired) == gateway.calls.total == 2  # every attempt takes a token


def test_529_html_body_is_retried(fake: FakeNotion, sleeps: list[float]) -> None:
    fake.fail("GET", "users/me", httpx.Response(529, text="<html>overloaded</html>"))
    gateway = make_gateway(sleeps)
    assert gateway.bot_user_id() == "bot-1"
    assert len(sleeps) == 1
    assert gateway.calls.by_endpoint() == {"users.me": 2}


def test_timeout_then_success(fake: FakeNotion, sleeps: list[float]) -> None:
    fake.fail("GET", "users/me", httpx.ReadTimeout("timed out"))
    gateway = make_gateway(sleeps)
    assert gateway.bot_user_id() == "bot-1"
    assert gateway.calls.by_endpoint() == {"users.me": 2}


def test_retries_exhausted_raise_unavailable(httpx_mock: HTTPXMock, sleeps: list[float]) -> None:
    for _ in range(4):
        httpx_mock.add_response(status_code=503, json={"code": "service_unavailable", "message": "Try later."})
    gateway = make_gateway(sleeps, notion_max_retries=3)
    with pytest.raises(NotionUnavailableError, match=r"4 attempts.*NOTION_MAX_RETRIES"):
        gateway.bot_user_id()
    assert len(sleeps) == 3
    assert gateway.calls.total == 4


def test_401_names_notion_token_and_never_shows_it(httpx_mock: HTTPXMock, sleeps: list[float]) -> None:
    httpx_mock.add_response(status_code=401, json={"code": "unauthorized", "message": "API token is invalid."})
    gateway = make_gateway(sleeps)
    with pytest.raises(NotionAuthError) as caught:
        gateway.bot_user_id()
    assert "NOTION_TOKEN is invalid or revoked" in str(caught.value)
    assert "API token is invalid." in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert sleeps == []  # 4xx: no retry


def test_400_fails_at_once_naming_the_page(fake: FakeNotion, sleeps: list[float]) -> None:
    fake.add_full_database()
    page_id = fake.add_row("zendesk:1")
    message = "body failed validation: body.properties.RICE.number"
    fake.fail("PATCH", r"pages/.*", _error(400, "validation_error", message))
    gateway = make_gateway(sleeps, notion_database_id=fake.database_id)
    with pytest.raises(NotionValidationError) as caught:
        gateway.update_properties(page_id, {"RICE": 12.5}, what=f"scoring page {page_id} (zendesk:1)")
    message = str(caught.value)
    assert f"scoring page {page_id} (zendesk:1)" in message
    assert "body.properties.RICE.number" in message
    assert gateway.calls.by_endpoint()["pages.update"] == 1
    assert sleeps == []


def test_404_says_to_share_with_the_integration(fake: FakeNotion, sleeps: list[float]) -> None:
    fake.add_full_database()
    gateway = make_gateway(sleeps, notion_database_id=fake.database_id)
    with pytest.raises(NotionNotFoundError, match="Connections"):
        gateway.get_row("0000-missing")


# --- creates that may have happened --------------------------------------------------------------------------


def test_5xx_on_create_does_not_duplicate(fake: FakeNotion, sleeps: list[float]) -> None:
    fake.add_full_database()
    fake.apply_then_fail = [502]  # Notion created the page, then answered 502
    gateway = make_gateway(sleeps, notion_database_id=fake.database_id)
    result = gateway.upsert([write_for("github:acme/x#1")], existing={})
    rows = [p for p in fake.pages.values() if p["parent"].get("data_source_id")]
    assert len(rows) == 1
    assert result.created == [("github:acme/x#1", rows[0]["id"])]
    assert fake.count("POST", "pages") == 1  # never sent again
    last_query = fake.bodies("POST", r"data_sources/.*/query")[-1]
    assert last_query["filter"] == {"or": [{"property": "Source Key", "rich_text": {"equals": "github:acme/x#1"}}]}


def test_timeout_on_create_checks_then_resends(fake: FakeNotion, sleeps: list[float]) -> None:
    fake.add_full_database()
    gateway = make_gateway(sleeps, notion_database_id=fake.database_id)
    fake.fail("POST", "pages", httpx.ReadTimeout("timed out"))
    result = gateway.upsert([write_for("zendesk:9")], existing={})
    assert len(result.created) == 1
    assert len(fake.pages) == 1
    assert gateway.calls.by_endpoint()["pages.create"] == 2  # timeout (not applied), lookup found nothing, resent
    assert gateway.calls.by_endpoint()["data_sources.query"] == 1


# --- reading rows --------------------------------------------------------------------------------------------


def test_iter_rows_follows_cursors(fake: FakeNotion, sleeps: list[float]) -> None:
    fake.add_full_database()
    fake.page_size = 2
    ids = [fake.add_row(f"zendesk:{i}", Votes=i) for i in range(5)]
    gateway = make_gateway(sleeps, notion_database_id=fake.database_id)
    rows = list(gateway.iter_rows())
    assert [r.page_id for r in rows] == ids
    assert [r.get("Votes") for r in rows] == [0, 1, 2, 3, 4]
    assert rows[0].source_key == "zendesk:0"
    assert rows[0].last_edited_by == "bot-1"
    assert gateway.calls.by_endpoint()["data_sources.query"] == 3
    cursors = [b.get("start_cursor") for b in fake.bodies("POST", r"data_sources/.*/query")]
    assert cursors == [None, "2", "4"]


def test_iter_rows_windows_past_the_query_cap(fake: FakeNotion, sleeps: list[float]) -> None:
    fake.add_full_database()
    fake.cap = 5  # stands in for Notion's 10,000
    same_minute = T0 + timedelta(hours=1)
    times = [T0 + timedelta(minutes=i) for i in range(4)] + [same_minute, same_minute] + [T0 + timedelta(hours=2)]
    ids = [fake.add_row(f"k:{i}", created=t) for i, t in enumerate(times)]
    gateway = make_gateway(sleeps, notion_database_id=fake.database_id)
    rows = list(gateway.iter_rows())
    assert sorted(r.page_id for r in rows) == sorted(ids)  # all 7, none twice
    queries = fake.bodies("POST", r"data_sources/.*/query")
    assert len(queries) == 2
    assert queries[1]["filter"] == {"timestamp": "created_time", "created_time": {"on_or_after": _iso(same_minute)}}
    assert queries[1]["sorts"] == [{"timestamp": "created_time", "direction": "ascending"}]


def test_relation_with_more_than_25_ids_is_read_in_full(fake: FakeNotion, sleeps: list[float]) -> None:
    fake.add_full_database()
    page_id = fake.add_row("zendesk:1")
    fake.pages[page_id]["properties"]["Possible Duplicate"] = {
        "id": "dup",
        "type": "relation",
        "relation": [{"id": f"rel-{i}"} for i in range(25)],
        "has_more": True,
    }
    gateway = make_gateway(sleeps, notion_database_id=fake.database_id)
    row = gateway.get_row(page_id)
    assert len(row.values["Possible Duplicate"]) == 30
    assert gateway.calls.by_endpoint()["pages.properties.retrieve"] == 1


# --- upsert --------------------------------------------------------------------------------------------------


def test_upsert_looks_up_250_keys_in_3_queries(fake: FakeNotion, sleeps: list[float]) -> None:
    fake.add_full_database()
    gateway = make_gateway(sleeps, notion_database_id=fake.database_id)
    writes = [write_for(f"zendesk:{i}") for i in range(250)]
    result = gateway.upsert(writes, dry_run=True)
    assert gateway.calls.by_endpoint()["data_sources.query"] == 3
    batches = [len(b["filter"]["or"]) for b in fake.bodies("POST", r"data_sources/.*/query")]
    assert batches == [100, 100, 50]
    assert len(result.created) == 250
    assert gateway.calls.writes == 0
    assert fake.pages == {}


def test_upsert_creates_updates_and_skips_unchanged(fake: FakeNotion, sleeps: list[float]) -> None:
    fake.add_full_database()
    gateway = make_gateway(sleeps, notion_database_id=fake.database_id)
    first = gateway.upsert([write_for("zendesk:1"), write_for("zendesk:2")])
    assert [key for key, _ in first.created] == ["zendesk:1", "zendesk:2"]
    created = fake.bodies("POST", "pages")[0]["properties"]
    assert created["Status"] == {"select": {"name": "New"}}
    assert created["Type"] == {"select": {"name": "Feature"}}
    assert "Content Hash" in created

    # The PM triages row 1 in Notion; then sync sees more votes on row 2 and a brand-new row 3.
    page_1 = first.created[0][1]
    fake.pages[page_1]["properties"]["Status"] = {"type": "select", "select": {"name": "Planned"}}
    changed = write_for("zendesk:2", Votes=5, Status="Triaged", Reach="10")  # PM-owned values must not be sent
    before = gateway.calls.snapshot()
    second = gateway.upsert([write_for("zendesk:1"), changed, write_for("zendesk:3")])
    assert second.unchanged == ["zendesk:1"]
    assert [key for key, _ in second.updated] == ["zendesk:2"]
    assert [key for key, _ in second.created] == ["zendesk:3"]
    assert gateway.calls.since(before) == {"data_sources.query": 1, "pages.update": 1, "pages.create": 1}

    update = fake.bodies("PATCH", r"pages/.*")[-1]["properties"]
    assert set(update) <= SYNC_OWNED | {"Content Hash"}
    assert update["Votes"] == {"number": 5}
    assert "Status" not in update
    assert "Reach" not in update
    assert fake.pages[page_1]["properties"]["Status"]["select"]["name"] == "Planned"


def test_upsert_with_nothing_new_makes_zero_writes(fake: FakeNotion, sleeps: list[float]) -> None:
    fake.add_full_database()
    gateway = make_gateway(sleeps, notion_database_id=fake.database_id)
    writes = [write_for(f"g2:{i}") for i in range(3)]
    gateway.upsert(writes)
    existing = {row.source_key or "": row for row in gateway.iter_rows()}
    before = gateway.calls.writes
    result = gateway.upsert(writes, existing=existing)
    assert result.unchanged == ["g2:0", "g2:1", "g2:2"]
    assert gateway.calls.writes == before


def test_upsert_dry_run_writes_nothing_but_reports(fake: FakeNotion, sleeps: list[float]) -> None:
    fake.add_full_database()
    fake.add_row("zendesk:1", Votes=1)
    gateway = make_gateway(sleeps, notion_database_id=fake.database_id)
    progress: list[int] = []
    result = gateway.upsert([write_for("zendesk:1"), write_for("zendesk:2")], dry_run=True, on_progress=progress.append)
    assert [k for k, _ in result.updated] == ["zendesk:1"]  # no Content Hash yet: would update
    assert [k for k, _ in result.created] == ["zendesk:2"]
    assert gateway.calls.writes == 0
    assert fake.count("PATCH", r"pages/.*") == fake.count("POST", "pages") == 0
    assert progress == [1, 2]


def test_one_bad_row_does_not_stop_the_batch(fake: FakeNotion, sleeps: list[float]) -> None:
    fake.add_full_database()
    gateway = make_gateway(sleeps, notion_database_id=fake.database_id)
    fake.fail("POST", "pages", _error(400, "validation_error", "Bad."))
    bad_value = write_for("zendesk:2", Votes="lots")
    result = gateway.upsert([write_for("zendesk:1"), bad_value, write_for("zendesk:3")], existing={})
    assert [k for k, _ in result.created] == ["zendesk:3"]
    failed = dict(result.failed)
    assert "creating the row zendesk:1" in failed["zendesk:1"]
    assert "Bad." in failed["zendesk:1"]
    assert "'Votes' (number)" in failed["zendesk:2"]


# --- schema bootstrap ----------------------------------------------------------------------------------------


def test_init_adopts_existing_database_and_reports_wrong_types(fake: FakeNotion, sleeps: list[float]) -> None:
    fake.add_database(
        {
            "Name": "title",
            "Votes": "rich_text",
            "Source": {"select": {"options": [{"id": "s1", "name": "Zendesk", "color": "red"}]}},
            "Notes": "rich_text",  # the PM's own property: left alone
        }
    )
    gateway = make_gateway(sleeps)
    report = gateway.init_database()
    assert not report.created
    assert report.ref.data_source_id == fake.data_source_id
    [problem] = report.problems
    assert problem.property == "Votes"
    assert problem.fix == (
        "rename the existing 'Votes' (rich_text) or change its type to Number in Notion, then run `backlog init` again"
    )
    expected_added = [s.name for s in SCHEMA if s.name not in {"Name", "Votes", "Source"}]
    assert report.added_properties == expected_added
    assert "Source: G2" in report.added_options
    [patch] = fake.bodies("PATCH", r"data_sources/.*")
    assert "Votes" not in patch["properties"]
    assert "Notes" not in patch["properties"]
    assert patch["properties"]["Source"]["select"]["options"][0] == {"id": "s1", "name": "Zendesk", "color": "red"}
    assert patch["properties"]["Merged Into"]["relation"]["data_source_id"] == fake.data_source_id
    assert fake.properties["Votes"]["type"] == "rich_text"

    # A write to the wrong-typed property fails with the fix instead of writing nonsense.
    result = gateway.upsert([write_for("zendesk:1")], existing={})
    assert "change its type to Number" in dict(result.failed)["zendesk:1"]


def test_init_twice_second_run_writes_nothing(fake: FakeNotion, sleeps: list[float]) -> None:
    first = make_gateway(sleeps).init_database()
    assert first.created
    assert fake.count("POST", "databases") == 1
    relations = fake.bodies("PATCH", r"data_sources/.*")[0]["properties"]
    assert relations["Possible Duplicate"]["relation"]["data_source_id"] == fake.data_source_id
    assert all(spec.name in fake.properties for spec in SCHEMA)

    again = make_gateway(sleeps)
    second = again.init_database()
    assert not second.created
    assert (second.added_properties, second.added_options, second.problems) == ([], [], [])
    assert again.calls.writes == 0
    assert second.ref == first.ref


def test_init_dry_run_creates_nothing(fake: FakeNotion, sleeps: list[float]) -> None:
    gateway = make_gateway(sleeps)
    report = gateway.init_database(dry_run=True)
    assert report.created
    assert gateway.calls.writes == 0
    assert fake.database_id is None


def test_database_missing_says_run_init(fake: FakeNotion, sleeps: list[float]) -> None:
    with pytest.raises(NotionNotFoundError, match="backlog init"):
        make_gateway(sleeps).database()


# --- pages and blocks for the report -------------------------------------------------------------------------


def _paragraph(i: int) -> dict[str, Any]:
    return {"type": "paragraph", "paragraph": {"rich_text": [{"type": "text", "text": {"content": f"line {i}"}}]}}


def test_create_page_chunks_blocks_and_is_found_again(fake: FakeNotion, sleeps: list[float]) -> None:
    gateway = make_gateway(sleeps)
    parent = gateway.parent_page_id()
    assert parent == fake.root_page_id
    page_id, url = gateway.create_page(parent, "Sprint 12", [_paragraph(i) for i in range(250)], icon="🗓️")
    assert url.endswith(page_id.replace("-", ""))
    create = fake.bodies("POST", "pages")[0]
    assert len(create["children"]) == 100
    assert create["icon"] == {"type": "emoji", "emoji": "🗓️"}
    assert [len(b["children"]) for b in fake.bodies("PATCH", r"blocks/.*/children")] == [100, 50]
    assert gateway.find_child_page(parent, "Sprint 12") == page_id
    assert gateway.find_child_page(parent, "Sprint 13") is None


def test_create_page_5xx_is_recovered_by_title(fake: FakeNotion, sleeps: list[float]) -> None:
    gateway = make_gateway(sleeps)
    fake.apply_then_fail = [500]
    page_id, _ = gateway.create_page(fake.root_page_id, "Sprint 12", [_paragraph(1)])
    assert fake.count("POST", "pages") == 1
    assert list(fake.pages) == [page_id]


def test_replace_children_deletes_then_appends(fake: FakeNotion, sleeps: list[float]) -> None:
    gateway = make_gateway(sleeps)
    page_id, _ = gateway.create_page(fake.root_page_id, "Summary", [_paragraph(i) for i in range(3)])
    gateway.replace_children(page_id, [_paragraph(9)])
    assert fake.count("DELETE", r"blocks/.*") == 3
    kids = gateway.list_children(page_id)
    assert [k["paragraph"]["rich_text"][0]["text"]["content"] for k in kids] == ["line 9"]


# --- accounting ----------------------------------------------------------------------------------------------


def test_call_counter_counts_reads_and_writes_by_endpoint() -> None:
    counter = CallCounter()
    counter.add("data_sources.query", write=False)
    snap = counter.snapshot()
    counter.add("pages.update", write=True)
    counter.add("pages.update", write=True)
    assert (counter.total, counter.reads, counter.writes) == (3, 1, 2)
    assert counter.since(snap) == {"pages.update": 2}
    assert snap.total == 1


def test_from_settings_uses_the_sandbox_without_a_token(tmp_path: Any) -> None:
    pytest.importorskip("service.sandbox")
    settings = Settings(backlog_sandbox_path=tmp_path / "nested" / "sandbox.sqlite3")
    gateway = NotionGateway.from_settings(settings, sleep=lambda _s: None)
    try:
        assert gateway.is_sandbox
        report = gateway.init_database()
        assert report.created
        result = gateway.upsert([write_for("zendesk:1")])
        assert len(result.created) == 1
        again = gateway.upsert([write_for("zendesk:1")])
        assert again.unchanged == ["zendesk:1"]
        assert [row.source_key for row in gateway.iter_rows()] == ["zendesk:1"]
        assert gateway.init_database().added_properties == []
        parent = gateway.parent_page_id()
        page_id, _ = gateway.create_page(parent, "Sprint 1", [_paragraph(i) for i in range(120)])
        assert gateway.find_child_page(parent, "Sprint 1") == page_id
        gateway.replace_children(page_id, [_paragraph(0)])
        assert len(gateway.list_children(page_id)) == 1
    finally:
        gateway.close()
