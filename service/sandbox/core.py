"""The sandbox itself: a Notion-API-compatible application over one SQLite file.

`Sandbox.handle` takes one HTTP request (method, path, query, headers, body) and answers it the way
api.notion.com would under the request's `Notion-Version` (2025-09-03, 2026-03-11 or 2026-12-01, see
`versions`): same routes, same response shapes, same error bodies and limits. The in-process transport, the
WSGI app and the HTML view are thin layers over it. Optional emulations (block cap, query lag) live in
`limits`.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from service.logging import get_logger
from service.sandbox.blocks import block_type, build_payload
from service.sandbox.limits import BlockBudget, indexed
from service.sandbox.model import (
    JSON,
    MAX_ARRAY,
    ApiError,
    check_array,
    database_stamp,
    iso_now,
    minute_stamp,
    new_id,
    not_found,
    parse_id,
    plain,
    rich_text,
    slug,
    text_to_rich,
    user_ref,
    validation,
)
from service.sandbox.properties import (
    RELATION_PREVIEW,
    build_config,
    find_property,
    new_property_id,
    property_type_of,
    raise_unknown_property,
    render_schema_property,
    render_value,
    stored_value,
    write_value,
)
from service.sandbox.query import Ordered, QueryCache, Row, compile_filter, compile_sorts
from service.sandbox.store import Store
from service.sandbox.versions import V2025_09_03, Version, check_request, parse_version, shape_response

log = get_logger(__name__)

ROOT_TITLE = "Product — Voice Agents"
WORKSPACE_NAME = "Voice Agents (sandbox)"
ACT_AS_HEADER = "x-sandbox-act-as"  # lower case: headers are compared lowered
PAGE_TITLE_SCHEMA: dict[str, JSON] = {"title": {"id": "title", "name": "title", "type": "title", "config": {}}}
Handler = Callable[..., JSON]


def _first(params: dict[str, list[str]], key: str) -> str | None:
    values = params.get(key)
    return values[0] if values else None


class _TokenBucket:
    """`rate` requests per second with bursts of `rate`; the clock is injectable so tests never sleep."""

    def __init__(self, rate: float, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.clock = clock
        self.updated = clock()

    def take(self) -> float:
        """0 when the request may pass, else the seconds to wait before one token is available."""
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class Sandbox:
    """The Notion-compatible app over one SQLite file; thread-safe (one lock, one commit per request)."""

    query_result_limit: int = 10_000
    default_page_size: int = 100

    def __init__(
        self,
        path: Path,
        token: str = "sandbox",  # noqa: S107 - the documented default of BACKLOG_SANDBOX_TOKEN
        rate_limit: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] | None = None,
        public_url: str = "http://127.0.0.1:8787",
        block_limit: int | None = None,
        block_grace_s: float = 0.0,
        query_lag_s: float = 0.0,
    ) -> None:
        """`block_limit` emulates the Free-plan block cap (after `block_grace_s` past the limit, creates fail);
        `query_lag_s` hides pages younger than that from data source queries. Both off by default."""
        self.path = Path(path)
        self._token = token
        self._bucket = _TokenBucket(rate_limit, clock) if rate_limit else None
        self._now = wall_clock or (lambda: datetime.now(UTC))
        self.public_url = public_url.rstrip("/")
        self._lock = threading.RLock()
        self._store = Store(self.path)
        self.blocks = BlockBudget(self._store, self._now, block_limit, block_grace_s)
        self.query_lag_s = query_lag_s
        self._version = Version(V2025_09_03)  # the version of the request being answered (under the lock)
        self._query_cache = QueryCache()
        with self._lock:
            self._bootstrap()
            self._store.commit()
        if block_limit is not None:
            self._ensure_second_member()
        self.root_page_id: str = self._meta("root_page_id")
        self.bot_user_id: str = self._meta("bot_user_id")
        self.person_user_id: str = self._meta("person_user_id")
        self._actor: str = self.bot_user_id  # who the request being answered acts as (under the lock)
        self._routes: list[tuple[str, list[str], Handler]] = [
            ("GET", ["users"], self._list_users),
            ("GET", ["users", "me"], self._users_me),
            ("GET", ["users", "{id}"], self._get_user),
            ("POST", ["search"], self._search),
            ("POST", ["databases"], self._create_database),
            ("GET", ["databases", "{id}"], self._get_database),
            ("PATCH", ["databases", "{id}"], self._update_database),
            ("POST", ["data_sources"], self._create_data_source),
            ("GET", ["data_sources", "{id}"], self._get_data_source),
            ("PATCH", ["data_sources", "{id}"], self._update_data_source),
            ("POST", ["data_sources", "{id}", "query"], self._query),
            ("POST", ["pages"], self._create_page),
            ("GET", ["pages", "{id}"], self._get_page),
            ("PATCH", ["pages", "{id}"], self._update_page),
            ("GET", ["pages", "{id}", "properties", "{prop}"], self._get_property_item),
            ("GET", ["blocks", "{id}"], self._get_block),
            ("PATCH", ["blocks", "{id}"], self._update_block),
            ("DELETE", ["blocks", "{id}"], self._delete_block),
            ("GET", ["blocks", "{id}", "children"], self._list_children),
            ("PATCH", ["blocks", "{id}", "children"], self._append_children),
        ]

    def close(self) -> None:
        """Close the SQLite connection (tests and `serve` shutdown)."""
        with self._lock:
            self._store.close()

    # --- the one entry point -----------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]] | str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one API request (`path` like "/v1/pages"): (status, headers, JSON body)."""
        started = time.perf_counter()
        request_id = new_id()
        params = parse_qs(query, keep_blank_values=True) if isinstance(query, str) else dict(query)
        lower = {key.lower(): value for key, value in headers.items()}
        extra: dict[str, str] = {}
        try:
            self._admit(lower)
            version = parse_version(lower)
            handler, args = self._route(method.upper(), path)
            payload = self._parse_body(method.upper(), body)
            check_request(version, payload)
            with self._lock:
                self._store.refresh()
                self._version = version
                self._actor = self._acting_user(lower)
                try:
                    result = shape_response(handler(*args, body=payload, params=params), version)
                except BaseException:
                    self._store.rollback()
                    raise
                self._store.commit()
            status = 200
        except ApiError as error:
            status = error.status
            extra = error.headers
            result = error.body()
        except Exception:
            log.exception("sandbox_internal_error", method=method, path=path)
            status = 500
            result = {
                "object": "error",
                "status": 500,
                "code": "internal_server_error",
                "message": "Unexpected error occurred.",
            }
        result["request_id"] = request_id
        data = json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        log.debug(
            "sandbox_request",
            method=method,
            path=path,
            status=status,
            ms=round((time.perf_counter() - started) * 1000, 2),
        )
        out_headers = {"Content-Type": "application/json; charset=utf-8", "x-request-id": request_id, **extra}
        return status, out_headers, data

    def _acting_user(self, headers: Mapping[str, str]) -> str:
        """The bot, or the workspace's person when the request carries `ACT_AS_HEADER: person`: a sandbox-only
        stand-in for the PM's own edits in Notion's UI (tests and the bench), so `last_edited_by` tells them apart
        from the integration's writes as it does on Notion."""
        return self.person_user_id if headers.get(ACT_AS_HEADER) == "person" else self.bot_user_id

    def _admit(self, headers: Mapping[str, str]) -> None:
        """Authentication first, then the optional rate limit (429 with an integer Retry-After)."""
        if headers.get("authorization", "") != f"Bearer {self._token}":
            raise ApiError(401, "unauthorized", "API token is invalid.")
        if self._bucket is None:
            return
        with self._lock:
            wait = self._bucket.take()
        if wait > 0:
            retry_after = str(max(1, math.ceil(wait)))
            raise ApiError(
                429,
                "rate_limited",
                "You have been rate limited. Please try again in a few minutes.",
                {"Retry-After": retry_after},
                additional_data={"retry_after": retry_after, "rate_limit_reason": "public_api_request_rate_limit"},
            )

    def _route(self, method: str, path: str) -> tuple[Handler, list[str]]:
        parts = [unquote(part) for part in path.split("?", maxsplit=1)[0].strip("/").split("/")]
        if not parts or parts[0] != "v1":
            raise ApiError(400, "invalid_request_url", "Invalid request URL.")
        parts = parts[1:]
        for route_method, pattern, handler in self._routes:
            if len(pattern) != len(parts):
                continue
            args: list[str] = []
            for expected, actual in zip(pattern, parts, strict=True):
                if expected.startswith("{"):
                    args.append(actual)
                elif expected != actual:
                    break
            else:
                if route_method == method:
                    return handler, args
        raise ApiError(400, "invalid_request_url", "Invalid request URL.")

    @staticmethod
    def _parse_body(method: str, body: bytes) -> JSON:
        if method in {"GET", "DELETE"} or not body or not body.strip():
            return {}
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "invalid_json", "Error parsing JSON body.") from None
        if not isinstance(payload, dict):
            raise validation("body failed validation: body should be an object, instead was not.")
        return payload

    # --- bootstrap and helpers ---------------------------------------------------------------------------

    def _meta(self, key: str) -> str:
        value = self._store.meta(key)
        assert value is not None, f"sandbox file {self.path} has no {key}"
        return value

    def _bootstrap(self) -> None:
        """A new file is a small workspace: the PM, this integration's bot, and one top-level page."""
        if self._store.meta("root_page_id") is not None:
            return
        person_id, bot_id, root_id = new_id(), new_id(), new_id()
        workspace_id = new_id()
        self._store.insert(
            person_id,
            "user",
            None,
            {
                "object": "user",
                "id": person_id,
                "name": "Pat Product",
                "avatar_url": None,
                "type": "person",
                "person": {"email": "pat.product@example.com"},
            },
        )
        self._store.insert(
            bot_id,
            "user",
            None,
            {
                "object": "user",
                "id": bot_id,
                "name": "backlog",
                "avatar_url": None,
                "type": "bot",
                "bot": {
                    "owner": {"type": "workspace", "workspace": True},
                    "workspace_name": WORKSPACE_NAME,
                    "workspace_id": workspace_id,
                    "workspace_limits": {"max_file_upload_size_in_bytes": 5242880},
                },
            },
        )
        stamp = iso_now(self._now())
        self._store.insert(
            root_id,
            "page",
            None,
            {
                "id": root_id,
                "parent": {"type": "workspace", "workspace": True},
                "created_time": stamp,
                "last_edited_time": stamp,
                "created_by": person_id,
                "last_edited_by": person_id,
                "icon": None,
                "cover": None,
                "in_trash": False,
                "is_locked": False,
                "props": {"title": {"t": "title", "v": text_to_rich(ROOT_TITLE)}},
            },
        )
        for key, value in (("root_page_id", root_id), ("bot_user_id", bot_id), ("person_user_id", person_id)):
            self._store.set_meta(key, value)

    def _stamp(self) -> str:
        return iso_now(self._now())

    def _get(self, kind: str, raw_id: str, where: str = "path") -> JSON:
        object_id = parse_id(raw_id, f"{where} failed validation: {where}.{kind}_id")
        found = self._store.get(object_id)
        if found is None or found[0] != kind:
            raise not_found(kind, object_id)
        return found[1]

    def _user(self, user_id: str) -> JSON | None:
        found = self._store.get(user_id)
        return self._render_user(found[1]) if found is not None and found[0] == "user" else None

    def _render_user(self, doc: JSON) -> JSON:
        """A user as the request's version shows it: people carry `email_verified`; a missing name is `null`
        on 2026-12-01 and `""` before."""
        user = dict(doc)
        if user.get("name") is None and not self._version.nullable_person_name:
            user["name"] = ""
        if user.get("type") == "person":
            person = dict(user.get("person") or {})
            person.setdefault("email_verified", bool(person.get("email")))
            user["person"] = person
        return user

    def _ensure_second_member(self) -> None:
        """The cap applies to Free workspaces with more than one member, so a capped sandbox has two people
        (a plan check can count them with GET /v1/users, as it would on Notion)."""
        with self._lock:
            if self._store.meta("second_member_id") is None:
                self._store.set_meta("second_member_id", self.add_person("Sam Second", "sam.second@example.com"))
                self._store.commit()

    def add_person(self, name: str | None, email: str) -> str:
        """Add a workspace member (for tests of people values and nameless members); returns the user id."""
        user_id = new_id()
        doc: JSON = {
            "object": "user",
            "id": user_id,
            "name": name,
            "avatar_url": None,
            "type": "person",
            "person": {"email": email},
        }
        with self._lock:
            self._store.insert(user_id, "user", None, doc)
            self._store.commit()
        return user_id

    def _touch(self, doc: JSON) -> None:
        doc["last_edited_time"] = self._stamp()
        doc["last_edited_by"] = self._actor

    def _url(self, object_id: str, title: str = "") -> str:
        hex_id = object_id.replace("-", "")
        words = slug(title)
        return f"{self.public_url}/p/{words}-{hex_id}" if words else f"{self.public_url}/p/{hex_id}"

    @staticmethod
    def _page_size(raw: Any, where: str) -> int:
        if raw is None:
            return Sandbox.default_page_size
        if isinstance(raw, list):
            raw = raw[0] if raw else None
        try:
            size = int(raw) if raw is not None else Sandbox.default_page_size
        except (TypeError, ValueError):
            raise validation(f"body failed validation: {where}.page_size should be a number.") from None
        if isinstance(raw, bool) or size < 1:
            raise validation(f"body failed validation: {where}.page_size should be ≥ `1`, instead was `{size}`.")
        if size > MAX_ARRAY:
            raise validation(f"body failed validation: {where}.page_size should be ≤ `100`, instead was `{size}`.")
        return size

    @staticmethod
    def _list(results: list[JSON], next_cursor: str | None, kind: str) -> JSON:
        return {
            "object": "list",
            "results": results,
            "next_cursor": next_cursor,
            "has_more": next_cursor is not None,
            "type": kind,
            kind: {},
        }

    @staticmethod
    def _window(ids: list[str], start_cursor: Any, size: int) -> tuple[int, int]:
        """(start, end) of one page of `ids`; cursors are the id of the first item of the next page."""
        start = 0
        if start_cursor:
            if not isinstance(start_cursor, str) or start_cursor not in ids:
                raise validation("start_cursor provided is invalid: " + str(start_cursor))
            start = ids.index(start_cursor)
        return start, min(start + size, len(ids))

    # --- rendering ---------------------------------------------------------------------------------------

    def _schema_for(self, page: JSON) -> dict[str, JSON]:
        parent = page["parent"]
        if parent.get("type") == "data_source_id":
            found = self._store.get(parent["data_source_id"])
            if found is not None:
                schema: dict[str, JSON] = found[1]["properties"]
                return schema
        return PAGE_TITLE_SCHEMA

    def _page_title(self, page: JSON, schema: dict[str, JSON] | None = None) -> str:
        for prop in (schema or self._schema_for(page)).values():
            if prop["type"] == "title":
                return plain(stored_value(prop, page))
        return ""

    def render_page(self, page: JSON, schema: dict[str, JSON] | None = None, only: set[str] | None = None) -> JSON:
        """A page object exactly as Notion shows it (every schema property, empty ones included)."""
        schema = schema if schema is not None else self._schema_for(page)
        stamps = (minute_stamp(page["created_time"]), minute_stamp(page["last_edited_time"]))
        properties = {
            name: render_value(prop, page, stamps, self._user)
            for name, prop in schema.items()
            if only is None or prop["id"] in only
        }
        return {
            "object": "page",
            "id": page["id"],
            "created_time": stamps[0],
            "last_edited_time": stamps[1],
            "created_by": user_ref(page["created_by"]),
            "last_edited_by": user_ref(page["last_edited_by"]),
            "cover": page.get("cover"),
            "icon": page.get("icon"),
            "parent": page["parent"],
            "in_trash": page["in_trash"],
            "is_archived": page["in_trash"],
            "is_locked": page.get("is_locked", False),
            "properties": properties,
            "url": self._url(page["id"], self._page_title(page, schema)),
            "public_url": None,
            "archived": page["in_trash"],
        }

    def render_database(self, db: JSON) -> JSON:
        sources = []
        for ds_id in db["data_sources"]:
            found = self._store.get(ds_id)
            if found is not None:
                sources.append({"id": ds_id, "name": plain(found[1]["title"])})
        return {
            "object": "database",
            "id": db["id"],
            "title": db["title"],
            "description": db["description"],
            "parent": db["parent"],
            "is_inline": db["is_inline"],
            "in_trash": db["in_trash"],
            "is_locked": db.get("is_locked", False),
            "created_time": database_stamp(db["created_time"]),
            "last_edited_time": database_stamp(db["last_edited_time"]),
            "data_sources": sources,
            "icon": db.get("icon"),
            "cover": db.get("cover"),
            "url": self._url(db["id"]),
            "public_url": None,
            "archived": db["in_trash"],
        }

    def render_data_source(self, ds: JSON) -> JSON:
        found = self._store.get(ds["database_id"])
        db = found[1] if found is not None else {"parent": {"type": "workspace", "workspace": True}}
        return {
            "object": "data_source",
            "id": ds["id"],
            "cover": ds.get("cover"),
            "icon": ds.get("icon"),
            "created_time": minute_stamp(ds["created_time"]),
            "created_by": user_ref(ds["created_by"]),
            "last_edited_by": user_ref(ds["last_edited_by"]),
            "last_edited_time": minute_stamp(ds["last_edited_time"]),
            "title": ds["title"],
            "description": ds["description"],
            "is_inline": db.get("is_inline", False),
            "properties": {name: render_schema_property(prop) for name, prop in ds["properties"].items()},
            "parent": {"type": "database_id", "database_id": ds["database_id"]},
            "database_parent": db["parent"],
            "url": self._url(ds["database_id"]),
            "public_url": None,
            "in_trash": ds["in_trash"],
            "archived": ds["in_trash"],
        }

    def _has_children(self, object_id: str) -> bool:
        return any(self._visible(child) for child in self._store.children(object_id))

    def _visible(self, object_id: str) -> bool:
        found = self._store.get(object_id)
        return found is not None and not found[1].get("in_trash", False)

    def render_block(self, object_id: str) -> JSON:
        """Any child of a page as a block: blocks themselves, child_page for pages, child_database for databases."""
        found = self._store.get(object_id)
        if found is None:
            raise not_found("block", object_id)
        kind, doc = found
        if kind == "page":
            block_kind, payload = "child_page", {"title": self._page_title(doc)}
            parent = doc["parent"]
        elif kind == "database":
            block_kind, payload = "child_database", {"title": plain(doc["title"])}
            parent = doc["parent"]
        elif kind == "block":
            block_kind, payload, parent = doc["type"], doc["payload"], doc["parent"]
        else:
            raise not_found("block", object_id)
        return {
            "object": "block",
            "id": object_id,
            "parent": parent,
            "created_time": minute_stamp(doc["created_time"]),
            "last_edited_time": minute_stamp(doc["last_edited_time"]),
            "created_by": user_ref(doc["created_by"]),
            "last_edited_by": user_ref(doc["last_edited_by"]),
            "has_children": self._has_children(object_id),
            "in_trash": doc["in_trash"],
            "type": block_kind,
            block_kind: payload,
            "archived": doc["in_trash"],
        }

    # --- users -------------------------------------------------------------------------------------------

    def _list_users(self, body: JSON, params: dict[str, list[str]]) -> JSON:
        users = [self._render_user(user) for user in self._store.of_kind("user")]
        size = self._page_size(params.get("page_size"), "query")
        ids = [user["id"] for user in users]
        start, end = self._window(ids, _first(params, "start_cursor"), size)
        return self._list(users[start:end], ids[end] if end < len(ids) else None, "user")

    def _users_me(self, body: JSON, params: dict[str, list[str]]) -> JSON:
        me = self._user(self.bot_user_id)
        assert me is not None
        return me

    def _get_user(self, raw_id: str, body: JSON, params: dict[str, list[str]]) -> JSON:
        return self._render_user(self._get("user", raw_id))

    # --- databases and data sources ----------------------------------------------------------------------

    def _parent_for_container(self, raw: Any, where: str) -> tuple[JSON, str | None]:
        """A database's parent: a page (its id is also returned) or the workspace."""
        if not isinstance(raw, dict):
            raise validation(f"body failed validation: {where} should be defined, instead was `undefined`.")
        if raw.get("workspace") is True or raw.get("type") == "workspace":
            return {"type": "workspace", "workspace": True}, None
        page = self._get("page", str(raw.get("page_id")), where)
        return {"type": "page_id", "page_id": page["id"]}, page["id"]

    def _add_child(self, parent_id: str, child_id: str, after: str | None = None) -> None:
        ids = self._store.children(parent_id)
        if after is not None and after in ids:
            ids.insert(ids.index(after) + 1, child_id)
        else:
            ids.append(child_id)
        self._store.set_children(parent_id, ids)

    def _create_database(self, body: JSON, params: dict[str, list[str]]) -> JSON:
        parent, parent_page = self._parent_for_container(body.get("parent"), "body.parent")
        title = rich_text(body.get("title", []), "body.title")
        initial = body.get("initial_data_source") or {}
        properties = initial.get("properties") if isinstance(initial, dict) else None
        if properties is None:
            properties = body.get("properties")
        self.blocks.admit()
        stamp = self._stamp()
        db_id, ds_id = new_id(), new_id()
        db = {
            "id": db_id,
            "title": title,
            "description": rich_text(body.get("description", []), "body.description"),
            "parent": parent,
            "is_inline": bool(body.get("is_inline", False)),
            "in_trash": False,
            "is_locked": False,
            "icon": body.get("icon"),
            "cover": body.get("cover"),
            "created_time": stamp,
            "last_edited_time": stamp,
            "created_by": self._actor,
            "last_edited_by": self._actor,
            "data_sources": [ds_id],
        }
        self._store.insert(db_id, "database", parent_page, db)
        self.blocks.spend(1)
        self._new_data_source(ds_id, db_id, title, properties or {}, body.get("icon"), "body.initial_data_source")
        if parent_page is not None:
            self._add_child(parent_page, db_id)
        return self.render_database(db)

    def _new_data_source(
        self, ds_id: str, db_id: str, title: list[JSON], properties: Any, icon: Any, where: str
    ) -> JSON:
        if not isinstance(properties, dict):
            raise validation(f"body failed validation: {where}.properties should be an object.")
        stamp = self._stamp()
        ds = {
            "id": ds_id,
            "database_id": db_id,
            "title": title,
            "description": [],
            "properties": {},
            "icon": icon,
            "cover": None,
            "in_trash": False,
            "created_time": stamp,
            "last_edited_time": stamp,
            "created_by": self._actor,
            "last_edited_by": self._actor,
        }
        self._store.insert(ds_id, "data_source", db_id, ds)
        titles = [
            name
            for name, raw in properties.items()
            if raw and property_type_of(raw, f"{where}.properties.{name}") == "title"
        ]
        if len(titles) > 1:
            raise validation(f"body failed validation: {where}.properties has more than one title property: {titles}.")
        if not titles:
            ds["properties"]["Name"] = {
                "id": "title",
                "name": "Name",
                "type": "title",
                "description": None,
                "config": {},
            }
        self._apply_schema(ds, properties, f"{where}.properties")
        self._store.update(ds_id, ds)
        return ds

    def _resolve_relation(self, ds_id: str | None, db_id: str | None) -> tuple[str, str]:
        if ds_id is not None:
            ds = self._get("data_source", ds_id, "body")
            return ds["id"], ds["database_id"]
        db = self._get("database", db_id or "", "body")
        return db["data_sources"][0], db["id"]

    def _apply_schema(self, ds: JSON, changes: Any, where: str) -> None:
        """Add, rename, retype or remove properties (`{"Name": null}` removes) as data source updates do."""
        if not isinstance(changes, dict):
            raise validation(f"body failed validation: {where} should be an object.")
        schema: dict[str, JSON] = ds["properties"]
        for key, raw in changes.items():
            spot = f"{where}.{key}"
            current = find_property(schema, key)
            if raw is None:
                _remove_property(schema, key, current)
                continue
            if not isinstance(raw, dict):
                raise validation(f"body failed validation: {spot} should be an object or null.")
            new_name = raw.get("name", current["name"] if current else key)
            if not isinstance(new_name, str) or not new_name.strip():
                raise validation(f"body failed validation: {spot}.name should be a non-empty string.")
            if current is None:
                self._add_property(ds, raw, new_name, spot)
            else:
                self._change_property(ds, current, raw, new_name, spot)

    def _add_property(self, ds: JSON, raw: JSON, new_name: str, spot: str) -> None:
        schema: dict[str, JSON] = ds["properties"]
        kind = property_type_of(raw, spot)
        if kind == "title" and any(p["type"] == "title" for p in schema.values()):
            title_prop = next(p for p in schema.values() if p["type"] == "title")
            del schema[title_prop["name"]]
            schema[new_name] = {**title_prop, "name": new_name}
            return
        prop_id = "title" if kind == "title" else new_property_id({p["id"] for p in schema.values()})
        config = build_config(kind, raw.get(kind), spot, self._resolve_relation)
        prop: JSON = {
            "id": prop_id,
            "name": new_name,
            "type": kind,
            "description": raw.get("description"),
            "config": config,
        }
        schema[new_name] = prop
        self._sync_dual(ds, prop)

    def _change_property(self, ds: JSON, current: JSON, raw: JSON, new_name: str, spot: str) -> None:
        schema: dict[str, JSON] = ds["properties"]
        prop = dict(current)
        if "type" in raw or any(k not in {"name", "description"} for k in raw):
            kind = property_type_of({k: v for k, v in raw.items() if k not in {"name", "description"}}, spot)
            if kind != prop["type"] and "title" in {kind, prop["type"]}:
                raise validation(f"Cannot change the type of {prop['name']} to or from title.")
            existing: JSON | None = prop["config"] if kind == prop["type"] else None
            prop["config"] = build_config(kind, raw.get(kind), spot, self._resolve_relation, existing)
            prop["type"] = kind
        if "description" in raw:
            prop["description"] = raw["description"]
        if new_name != current["name"]:
            if new_name in schema:
                raise validation(f"A property named {new_name} already exists.")
            rebuilt = {(new_name if name == current["name"] else name): value for name, value in schema.items()}
            schema.clear()
            schema.update(rebuilt)
        prop["name"] = new_name
        schema[new_name] = prop
        if prop["type"] == "relation":
            self._sync_dual(ds, prop)

    def _sync_dual(self, ds: JSON, prop: JSON) -> None:
        """A dual relation gets its synced twin on the target data source (same source: a second property)."""
        config = prop["config"]
        if prop["type"] != "relation" or config.get("type") != "dual_property":
            return
        dual = config["dual_property"]
        if dual.get("synced_property_id"):
            return
        target = ds if config["data_source_id"] == ds["id"] else self._get("data_source", config["data_source_id"])
        schema: dict[str, JSON] = target["properties"]
        name = dual["synced_property_name"]
        while name in schema:
            name += " (related)"
        twin_id = new_property_id({p["id"] for p in schema.values()} | {prop["id"]})
        schema[name] = {
            "id": twin_id,
            "name": name,
            "type": "relation",
            "description": None,
            "config": {
                "database_id": ds["database_id"],
                "data_source_id": ds["id"],
                "type": "dual_property",
                "dual_property": {"synced_property_name": prop["name"], "synced_property_id": prop["id"]},
            },
        }
        dual["synced_property_name"] = name
        dual["synced_property_id"] = twin_id
        if target is not ds:
            self._store.update(target["id"], target)

    def _get_database(self, raw_id: str, body: JSON, params: dict[str, list[str]]) -> JSON:
        return self.render_database(self._get("database", raw_id))

    def _update_database(self, raw_id: str, body: JSON, params: dict[str, list[str]]) -> JSON:
        db = self._get("database", raw_id)
        if "title" in body:
            db["title"] = rich_text(body["title"], "body.title")
        if "description" in body:
            db["description"] = rich_text(body["description"], "body.description")
        for key in ("icon", "cover", "is_inline", "is_locked"):
            if key in body:
                db[key] = body[key]
        if "in_trash" in body or "archived" in body:
            db["in_trash"] = bool(body.get("in_trash", body.get("archived")))
        if "properties" in body:  # pre-2025-09-03 style: the schema of the first data source
            ds = self._get("data_source", db["data_sources"][0])
            self._apply_schema(ds, body["properties"], "body.properties")
            self._touch(ds)
            self._store.update(ds["id"], ds)
        self._touch(db)
        self._store.update(db["id"], db)
        return self.render_database(db)

    def _create_data_source(self, body: JSON, params: dict[str, list[str]]) -> JSON:
        parent = body.get("parent")
        if not isinstance(parent, dict) or "database_id" not in parent:
            raise validation(
                "body failed validation: body.parent.database_id should be defined, instead was `undefined`."
            )
        db = self._get("database", parent["database_id"], "body.parent")
        title = rich_text(body.get("title", []), "body.title")
        ds = self._new_data_source(new_id(), db["id"], title, body.get("properties", {}), body.get("icon"), "body")
        db["data_sources"].append(ds["id"])
        self._store.update(db["id"], db)
        return self.render_data_source(ds)

    def _get_data_source(self, raw_id: str, body: JSON, params: dict[str, list[str]]) -> JSON:
        return self.render_data_source(self._get("data_source", raw_id))

    def _update_data_source(self, raw_id: str, body: JSON, params: dict[str, list[str]]) -> JSON:
        ds = self._get("data_source", raw_id)
        if "title" in body:
            ds["title"] = rich_text(body["title"], "body.title")
        if "description" in body:
            ds["description"] = rich_text(body["description"], "body.description")
        if "icon" in body:
            ds["icon"] = body["icon"]
        if "in_trash" in body or "archived" in body:
            ds["in_trash"] = bool(body.get("in_trash", body.get("archived")))
        if "properties" in body:
            self._apply_schema(ds, body["properties"], "body.properties")
        self._touch(ds)
        self._store.update(ds["id"], ds)
        return self.render_data_source(ds)

    # --- query -------------------------------------------------------------------------------------------

    def _query(self, raw_id: str, body: JSON, params: dict[str, list[str]]) -> JSON:
        ds = self._get("data_source", raw_id)
        schema: dict[str, JSON] = ds["properties"]
        size = self._page_size(body.get("page_size"), "body")
        only = self._listed_properties(params, schema)
        cursor = body.get("start_cursor")
        ordered = self._ordered(ds, body, cursor is not None)
        start = 0
        if cursor:
            if not isinstance(cursor, str) or cursor not in ordered.position:
                raise validation("start_cursor provided is invalid: " + str(cursor))
            start = ordered.position[cursor]
        end = min(start + size, len(ordered.ids))
        results = [self.render_page(self._page_doc(page_id), schema, only) for page_id in ordered.ids[start:end]]
        next_cursor = ordered.ids[end] if end < len(ordered.ids) else None
        answer = self._list(results, next_cursor, "page_or_data_source")
        if ordered.capped and next_cursor is None:
            answer["request_status"] = {"type": "incomplete", "incomplete_reason": "query_result_limit_reached"}
        return answer

    def _page_doc(self, page_id: str) -> JSON:
        found = self._store.get(page_id)
        assert found is not None, page_id
        return found[1]

    def _ordered(self, ds: JSON, body: JSON, paging: bool) -> Ordered:
        """The ids a query answers, in order; a follow-up page (`paging`) reuses the first page's result."""
        groups_match = self._version.status_groups_match
        shape = json.dumps([body.get("filter"), body.get("sorts"), body.get("in_trash", body.get("archived"))])
        key = (ds["id"], self._store.generation, shape, groups_match)
        cached = self._query_cache.get(key) if paging else None
        if cached is not None:
            return cached
        schema: dict[str, JSON] = ds["properties"]
        want_trash = bool(body.get("in_trash", body.get("archived", False)))
        now = self._now()
        raw_filter = body.get("filter")
        predicate = compile_filter(raw_filter, schema, now, groups_match=groups_match) if raw_filter else None
        sorter = compile_sorts(body.get("sorts"), schema)
        rows: list[Row] = []
        for page in self._store.by_parent(ds["id"], "page"):
            if page["in_trash"] != want_trash or not indexed(page["created_time"], now, self.query_lag_s):
                continue
            row: Row = {
                "page": page,
                "stamps": (minute_stamp(page["created_time"]), minute_stamp(page["last_edited_time"])),
                "cache": {},
            }
            if predicate is None or predicate(row):
                rows.append(row)
        if sorter is not None:
            rows = sorter(rows)
        ids = [row["page"]["id"] for row in rows[: self.query_result_limit]]
        ordered = Ordered(ids, {page_id: index for index, page_id in enumerate(ids)}, len(rows) > len(ids))
        self._query_cache.put(key, ordered)
        return ordered

    def _listed_properties(self, params: dict[str, list[str]], schema: dict[str, JSON]) -> set[str] | None:
        """Properties a list answer shows: `filter_properties`, else the title alone on 2026-12-01, else all."""
        only = self._filter_properties(params, schema)
        if only is None and self._version.title_only_lists:
            return {prop["id"] for prop in schema.values() if prop["type"] == "title"}
        return only

    @staticmethod
    def _filter_properties(params: dict[str, list[str]], schema: dict[str, JSON]) -> set[str] | None:
        wanted = params.get("filter_properties") or params.get("filter_properties[]")
        if not wanted:
            return None
        only: set[str] = set()
        for key in wanted:
            prop = find_property(schema, unquote(key))
            if prop is None:
                raise validation(f"Could not find property with name or id: {key}")
            only.add(prop["id"])
        return only

    # --- pages -------------------------------------------------------------------------------------------

    def _page_parent(self, raw: Any) -> tuple[JSON, str, dict[str, JSON]]:
        """(parent object, id the page is stored under, schema) for a page's `parent`."""
        if not isinstance(raw, dict):
            raise validation("body failed validation: body.parent should be defined, instead was `undefined`.")
        if "data_source_id" in raw:
            ds = self._get("data_source", raw["data_source_id"], "body.parent")
        elif "database_id" in raw:
            db = self._get("database", raw["database_id"], "body.parent")
            ds = self._get("data_source", db["data_sources"][0])
        elif "page_id" in raw:
            page = self._get("page", raw["page_id"], "body.parent")
            return {"type": "page_id", "page_id": page["id"]}, page["id"], PAGE_TITLE_SCHEMA
        elif raw.get("workspace") is True:
            return {"type": "workspace", "workspace": True}, "", PAGE_TITLE_SCHEMA
        else:
            raise validation(
                "body failed validation: body.parent should define data_source_id, database_id or page_id."
            )
        if ds["in_trash"]:
            raise validation("Can't edit block that is archived. You must unarchive the block before editing.")
        parent = {"type": "data_source_id", "data_source_id": ds["id"], "database_id": ds["database_id"]}
        return parent, ds["id"], ds["properties"]

    def _write_properties(self, page: JSON, raw: Any, schema: dict[str, JSON], ds_id: str | None) -> None:
        if not isinstance(raw, dict):
            raise validation("body failed validation: body.properties should be an object.")
        schema_changed = False
        for key, value in raw.items():
            prop = find_property(schema, key)
            if prop is None:
                raise raise_unknown_property(key)
            before = stored_value(prop, page)
            stored, changed = write_value(prop, value, f"body.properties.{prop['name']}", self._user)
            schema_changed = schema_changed or changed
            page.setdefault("props", {})[prop["id"]] = {"t": prop["type"], "v": stored}
            if prop["type"] == "relation" and prop["config"].get("type") == "dual_property":
                self._sync_relation_values(page["id"], prop, list(before or []), list(stored or []))
        if schema_changed and ds_id:
            found = self._store.get(ds_id)
            if found is not None:
                found[1]["properties"] = schema
                self._store.update(ds_id, found[1])

    def _sync_relation_values(self, page_id: str, prop: JSON, before: list[str], after: list[str]) -> None:
        twin_id = prop["config"]["dual_property"].get("synced_property_id")
        if not twin_id:
            return
        for other_id in set(before) ^ set(after):
            found = self._store.get(other_id)
            if found is None or found[0] != "page":
                continue
            other = found[1]
            cell = other.setdefault("props", {}).get(twin_id) or {"t": "relation", "v": []}
            values = list(cell.get("v") or [])
            if other_id in after and page_id not in values:
                values.append(page_id)
            if other_id not in after and page_id in values:
                values.remove(page_id)
            other["props"][twin_id] = {"t": "relation", "v": values}
            self._store.update(other_id, other)

    def _create_page(self, body: JSON, params: dict[str, list[str]]) -> JSON:
        parent, stored_under, schema = self._page_parent(body.get("parent"))
        children = check_array(body.get("children", []), "body.children")
        self.blocks.admit()
        stamp = self._stamp()
        page_id = new_id()
        page: JSON = {
            "id": page_id,
            "parent": parent,
            "created_time": stamp,
            "last_edited_time": stamp,
            "created_by": self._actor,
            "last_edited_by": self._actor,
            "icon": body.get("icon"),
            "cover": body.get("cover"),
            "in_trash": False,
            "is_locked": False,
            "props": {},
        }
        ds_id = parent.get("data_source_id")
        self._write_properties(page, body.get("properties", {}), schema, ds_id)
        self._store.insert(page_id, "page", stored_under or None, page)
        self.blocks.spend(1)
        if parent["type"] == "page_id":
            self._add_child(parent["page_id"], page_id)
        self._insert_blocks(page_id, {"type": "page_id", "page_id": page_id}, children, None, "body.children")
        answer_schema = self._schema_for(page)
        return self.render_page(page, answer_schema, self._filter_properties(params, answer_schema))

    def _get_page(self, raw_id: str, body: JSON, params: dict[str, list[str]]) -> JSON:
        page = self._get("page", raw_id)
        schema = self._schema_for(page)
        return self.render_page(page, schema, self._filter_properties(params, schema))

    def _update_page(self, raw_id: str, body: JSON, params: dict[str, list[str]]) -> JSON:
        page = self._get("page", raw_id)
        trash = body.get("in_trash", body.get("archived"))
        if page["in_trash"] and trash is not False and "properties" in body:
            raise validation("Can't edit block that is archived. You must unarchive the block before editing.")
        if trash is not None:
            page["in_trash"] = bool(trash)
        schema = self._schema_for(page)
        if "properties" in body:
            self._write_properties(page, body["properties"], schema, page["parent"].get("data_source_id"))
        for key in ("icon", "cover", "is_locked"):
            if key in body:
                page[key] = body[key]
        self._touch(page)
        self._store.update(page["id"], page)
        answer_schema = self._schema_for(page)
        return self.render_page(page, answer_schema, self._filter_properties(params, answer_schema))

    def _get_property_item(self, raw_id: str, raw_prop: str, body: JSON, params: dict[str, list[str]]) -> JSON:
        page = self._get("page", raw_id)
        schema = self._schema_for(page)
        prop = find_property(schema, unquote(raw_prop))
        if prop is None:
            raise not_found("property", unquote(raw_prop))
        stamps = (minute_stamp(page["created_time"]), minute_stamp(page["last_edited_time"]))
        rendered = render_value(prop, page, stamps, self._user, full_relations=True)
        kind = prop["type"]
        if kind not in {"title", "rich_text", "relation", "people"}:
            return {"object": "property_item", "id": prop["id"], "type": kind, kind: rendered[kind]}
        items = [{"object": "property_item", "id": prop["id"], "type": kind, kind: item} for item in rendered[kind]]
        size = self._page_size(params.get("page_size"), "query")
        cursor = _first(params, "start_cursor")
        keys = [str(index) for index in range(len(items))]
        start, end = self._window(keys, cursor, size)
        answer = self._list(items[start:end], keys[end] if end < len(keys) else None, "property_item")
        answer["property_item"] = {"id": prop["id"], "next_url": None, "type": kind, kind: {}}
        return answer

    # --- blocks ------------------------------------------------------------------------------------------

    def _container(self, raw_id: str) -> tuple[str, JSON, str]:
        """(id, parent object for new children, kind) of something that can hold blocks."""
        object_id = parse_id(raw_id, "path failed validation: path.block_id")
        found = self._store.get(object_id)
        if found is None or found[0] not in {"page", "block"}:
            raise not_found("block", object_id)
        kind, doc = found
        if doc.get("in_trash"):
            raise validation("Can't edit block that is archived. You must unarchive the block before editing.")
        parent_type = "page_id" if kind == "page" else "block_id"
        return object_id, {"type": parent_type, parent_type: object_id}, kind

    def _insert_blocks(
        self, parent_id: str, parent: JSON, children: list[Any], at: int | None, where: str
    ) -> list[str]:
        """Create `children` under `parent_id` at index `at` of its children (None: at the end)."""
        check_array(children, where)
        ids = self._store.children(parent_id)
        position = len(ids) if at is None else at
        created: list[str] = []
        stamp = self._stamp()
        for index, raw in enumerate(children):
            spot = f"{where}[{index}]"
            kind = block_type(raw, spot)
            payload, nested = build_payload(kind, raw.get(kind), f"{spot}.{kind}")
            block_id = new_id()
            doc = {
                "id": block_id,
                "parent": parent,
                "type": kind,
                "payload": payload,
                "created_time": stamp,
                "last_edited_time": stamp,
                "created_by": self._actor,
                "last_edited_by": self._actor,
                "in_trash": False,
            }
            self._store.insert(block_id, "block", parent_id, doc)
            self.blocks.spend(1)
            created.append(block_id)
            if nested:
                self._insert_blocks(
                    block_id, {"type": "block_id", "block_id": block_id}, nested, None, f"{spot}.{kind}.children"
                )
        ids[position:position] = created
        self._store.set_children(parent_id, ids)
        return created

    def _get_block(self, raw_id: str, body: JSON, params: dict[str, list[str]]) -> JSON:
        return self.render_block(parse_id(raw_id, "path failed validation: path.block_id"))

    def _update_block(self, raw_id: str, body: JSON, params: dict[str, list[str]]) -> JSON:
        object_id = parse_id(raw_id, "path failed validation: path.block_id")
        found = self._store.get(object_id)
        if found is None or found[0] not in {"page", "block", "database"}:
            raise not_found("block", object_id)
        kind, doc = found
        trash = body.get("in_trash", body.get("archived"))
        if trash is not None:
            doc["in_trash"] = bool(trash)
        if kind == "block" and doc["type"] in body:
            if doc["in_trash"]:
                raise validation("Can't edit block that is archived. You must unarchive the block before editing.")
            payload, _ = build_payload(doc["type"], body[doc["type"]], f"body.{doc['type']}", doc["payload"])
            doc["payload"] = payload
        self._touch(doc)
        self._store.update(object_id, doc)
        if kind == "block":
            self._touch_page_of(doc)
        return self.render_block(object_id)

    def _touch_page_of(self, block: JSON) -> None:
        """Editing, deleting or appending a block moves its page's last_edited_time, as on Notion."""
        parent = block.get("parent") or {}
        for _ in range(64):  # nesting depth guard
            parent_id = parent.get("page_id") or parent.get("block_id")
            found = self._store.get(str(parent_id)) if parent_id else None
            if found is None:
                return
            kind, doc = found
            if kind == "page":
                self._touch(doc)
                self._store.update(str(parent_id), doc)
                return
            parent = doc.get("parent") or {}

    def _delete_block(self, raw_id: str, body: JSON, params: dict[str, list[str]]) -> JSON:
        return self._update_block(raw_id, {"in_trash": True}, params)

    def _list_children(self, raw_id: str, body: JSON, params: dict[str, list[str]]) -> JSON:
        object_id = parse_id(raw_id, "path failed validation: path.block_id")
        found = self._store.get(object_id)
        if found is None or found[0] not in {"page", "block"}:
            raise not_found("block", object_id)
        ids = [child for child in self._store.children(object_id) if self._visible(child)]
        size = self._page_size(params.get("page_size"), "query")
        start, end = self._window(ids, _first(params, "start_cursor"), size)
        results = [self.render_block(child) for child in ids[start:end]]
        return self._list(results, ids[end] if end < len(ids) else None, "block")

    def _append_children(self, raw_id: str, body: JSON, params: dict[str, list[str]]) -> JSON:
        object_id, parent, _ = self._container(raw_id)
        children = check_array(body.get("children"), "body.children")
        at = self._append_position(object_id, body)
        self.blocks.admit()
        created = self._insert_blocks(object_id, parent, children, at, "body.children")
        found = self._store.get(object_id)
        if found is not None:
            self._touch(found[1])
            self._store.update(object_id, found[1])
            if found[0] == "block":
                self._touch_page_of(found[1])
        return self._list([self.render_block(block_id) for block_id in created], None, "block")

    def _append_position(self, object_id: str, body: JSON) -> int | None:
        """Where appended children go: `position` (after_block, start, end), or 2025-09-03's flat `after`."""
        siblings = self._store.children(object_id)
        if "after" in body:
            if not self._version.flat_after:
                raise validation(
                    f"body failed validation: body.after is not supported in API version {self._version.name}; "
                    'use body.position, e.g. {"type": "after_block", "after_block": {"id": "..."}}.'
                )
            return self._index_after(siblings, body["after"], object_id, "body.after")
        position = body.get("position")
        if position is None:
            return None
        kind = position.get("type") if isinstance(position, dict) else None
        if kind == "start":
            return 0
        if kind == "end":
            return None
        if kind == "after_block":
            block_id = (position.get("after_block") or {}).get("id")
            return self._index_after(siblings, block_id, object_id, "body.position.after_block.id")
        raise validation(
            'body failed validation: body.position.type should be "after_block", "start" or "end", '
            f"instead was `{kind!r}`."
        )

    @staticmethod
    def _index_after(siblings: list[str], raw: Any, object_id: str, where: str) -> int:
        after = parse_id(raw, f"body failed validation: {where}")
        if after not in siblings:
            raise validation(f"{where}: block {after} is not a child of {object_id}.")
        return siblings.index(after) + 1

    # --- search ------------------------------------------------------------------------------------------

    def _search(self, body: JSON, params: dict[str, list[str]]) -> JSON:
        query = body.get("query") or ""
        if not isinstance(query, str):
            raise validation("body failed validation: body.query should be a string.")
        wanted = None
        raw_filter = body.get("filter")
        if raw_filter is not None:
            if not isinstance(raw_filter, dict) or raw_filter.get("property") != "object":
                raise validation('body failed validation: body.filter.property should be `"object"`.')
            wanted = raw_filter.get("value")
            if wanted not in {"page", "data_source"}:
                raise validation('body failed validation: body.filter.value should be `"page"` or `"data_source"`.')
        size = self._page_size(body.get("page_size"), "body")
        needle = query.lower()
        found: list[tuple[str, str, JSON]] = []
        if wanted in {None, "page"}:
            found.extend(
                (page["last_edited_time"], "page", page)
                for page in self._store.of_kind("page")
                if not page["in_trash"] and needle in self._page_title(page).lower()
            )
        if wanted in {None, "data_source"}:
            found.extend(
                (ds["last_edited_time"], "data_source", ds)
                for ds in self._store.of_kind("data_source")
                if not ds["in_trash"] and needle in plain(ds["title"]).lower()
            )
        sort = body.get("sort") or {}
        ascending = isinstance(sort, dict) and sort.get("direction") == "ascending"
        found.sort(key=lambda item: item[0], reverse=not ascending)
        ids = [doc["id"] for _, _, doc in found]
        start, end = self._window(ids, body.get("start_cursor"), size)
        wanted = self._search_properties(body, params)
        results = [
            self._search_page(doc, wanted) if kind == "page" else self.render_data_source(doc)
            for _, kind, doc in found[start:end]
        ]
        return self._list(results, ids[end] if end < len(ids) else None, "page_or_data_source")

    @staticmethod
    def _search_properties(body: JSON, params: dict[str, list[str]]) -> set[str] | None:
        """`filter_properties` of a search (query string or body): names or ids, across many schemas."""
        raw = params.get("filter_properties") or params.get("filter_properties[]") or body.get("filter_properties")
        if raw is None:
            return None
        return {unquote(str(key)) for key in check_array(raw, "body.filter_properties")}

    def _search_page(self, page: JSON, wanted: set[str] | None) -> JSON:
        schema = self._schema_for(page)
        only: set[str] | None = None
        if wanted is not None:
            only = {prop["id"] for name, prop in schema.items() if name in wanted or prop["id"] in wanted}
        elif self._version.title_only_lists:
            only = {prop["id"] for prop in schema.values() if prop["type"] == "title"}
        return self.render_page(page, schema, only)

    # --- read side for the HTML view ---------------------------------------------------------------------

    def view_databases(self) -> list[JSON]:
        """Every database not in the trash, as Notion shows it (HTML index)."""
        with self._lock:
            return [self.render_database(db) for db in self._store.of_kind("database") if not db["in_trash"]]

    def view_pages(self) -> list[JSON]:
        """Pages that are not database rows, not in the trash (HTML index)."""
        with self._lock:
            return [
                self.render_page(page)
                for page in self._store.of_kind("page")
                if not page["in_trash"] and page["parent"]["type"] != "data_source_id"
            ]

    def view_object(self, raw_id: str) -> tuple[str, JSON] | None:
        """("page" | "database", Notion object) for an id, or None."""
        try:
            object_id = parse_id(raw_id, "id")
        except ApiError:
            return None
        with self._lock:
            found = self._store.get(object_id)
            if found is None:
                return None
            kind, doc = found
            if kind == "page":
                return kind, self.render_page(doc)
            if kind == "database":
                return kind, self.render_database(doc)
            return None

    def view_rows(self, database_id: str) -> tuple[JSON, list[JSON]]:
        """(data source, its pages) of a database's first data source, in creation order."""
        with self._lock:
            db = self._get("database", database_id)
            ds = self._get("data_source", db["data_sources"][0])
            schema = ds["properties"]
            pages = [self.render_page(p, schema) for p in self._store.by_parent(ds["id"], "page") if not p["in_trash"]]
            return self.render_data_source(ds), pages

    def view_blocks(self, parent_id: str) -> list[tuple[JSON, list[Any]]]:
        """The block tree under a page: [(block, children tree)]."""
        with self._lock:
            return self._tree(parent_id, depth=0)

    def _tree(self, parent_id: str, depth: int) -> list[tuple[JSON, list[Any]]]:
        out: list[tuple[JSON, list[Any]]] = []
        for child in self._store.children(parent_id):
            if not self._visible(child):
                continue
            block = self.render_block(child)
            nested = (
                self._tree(child, depth + 1)
                if block["type"] not in {"child_page", "child_database"} and depth < 8
                else []
            )
            out.append((block, nested))
        return out


__all__ = ["RELATION_PREVIEW", "Sandbox"]


def _remove_property(schema: dict[str, JSON], key: str, current: JSON | None) -> None:
    if current is None:
        raise raise_unknown_property(key)
    if current["type"] == "title":
        raise validation(f"Cannot delete the title property {current['name']}.")
    del schema[current["name"]]
