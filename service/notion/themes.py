"""The `backlog-themes` database: one row per theme, related to the candidates by their `Theme` relation.

Found by title under the parent page, created on first use with its properties, and the `Theme` relation added
to the candidates database pointing at it. The service keeps two bookkeeping texts per theme (`Member Ids`: what
it last assigned; `Pinned`: items the PM moved there), so a PM's move is told apart from its own assignment on
the next run. Everything else on a theme row is shown to the PM; the Name is the PM's once written.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from notion_client import Client

from service.logging import get_logger
from service.notion.codecs import decode_properties, decode_rich_text, encode_property, encode_rich_text
from service.notion.database import Database, DatabaseRef
from service.notion.rows import Row, Rows
from service.notion.schema import THEME_SPEC
from service.notion.session import JSON, PAGE_SIZE, NotionSession
from service.notion.versions import is_trashed

log = get_logger(__name__)

THEMES_TITLE = "backlog-themes"
THEME_PROPERTIES: dict[str, str] = {
    "Name": "title",
    "Description": "rich_text",
    "Members": "number",
    "Customers": "number",
    "Segments": "rich_text",
    "Sources": "rich_text",
    "Votes": "number",
    "First Seen": "date",
    "Last Seen": "date",
    "Trend": "rich_text",
    "Member Ids": "rich_text",  # the service's own record of what it assigned (comma-separated page ids)
    "Pinned": "rich_text",  # items the PM moved to this theme: they stay whatever the clustering says
}


@dataclass(frozen=True)
class ThemeRow:
    page_id: str
    values: dict[str, Any]


def split_ids(text: Any) -> frozenset[str]:
    return frozenset(i.strip() for i in str(text or "").split(",") if i.strip())


def join_ids(ids: frozenset[str] | set[str]) -> str:
    return ",".join(sorted(ids))


def _schema_of() -> JSON:
    return {name: {kind: {}} for name, kind in THEME_PROPERTIES.items()}


class ThemeStore:
    """Reads and writes of the themes database and of the candidates' Theme relation (one gateway's)."""

    def __init__(self, client: Client, session: NotionSession, database: Database, rows: Rows) -> None:
        self.client = client
        self.session = session
        self.database = database
        self.rows = rows
        self._ref: DatabaseRef | None = None

    # --- the database

    def find(self) -> DatabaseRef | None:
        what = f"finding the database {THEMES_TITLE!r}"
        kind = {"property": "object", "value": "data_source"}
        for result in self.database.search(query=THEMES_TITLE, filter=kind, what=what):
            if is_trashed(result) or decode_rich_text(result.get("title")).strip() != THEMES_TITLE:
                continue
            parent = result.get("parent") or {}
            return DatabaseRef(
                str(parent.get("database_id", "")), str(result["id"]), THEMES_TITLE, str(result.get("url", ""))
            )
        return None

    def ensure(self) -> DatabaseRef:
        """The themes database (created under the parent page if missing) and the candidates' Theme relation."""
        if self._ref is None:
            self._ref = self.find() or self._create()
            self._ensure_relation(self._ref)
        return self._ref

    def _create(self) -> DatabaseRef:
        parent = self.database.parent_page_id()
        body: JSON = {
            "parent": {"type": "page_id", "page_id": parent},
            "title": encode_rich_text(THEMES_TITLE),
            "initial_data_source": {"properties": _schema_of()},
        }
        what = f"creating the database {THEMES_TITLE!r} under page {parent}"
        send = functools.partial(self.client.databases.create, **body)
        db = self.session.call("databases.create", send, write=True, what=what, recover=self._created)
        self.session.calls.count_blocks(1)
        source = (db.get("data_sources") or [{}])[0]
        log.info("notion.themes_created", title=THEMES_TITLE, url=db.get("url", ""))
        return DatabaseRef(str(db["id"]), str(source.get("id", "")), THEMES_TITLE, str(db.get("url", "")))

    def _created(self) -> JSON | None:
        """Recovery for a create whose answer was lost: the database, if it exists now (never a second one)."""
        ref = self.find()
        if ref is None:
            return None
        return {"id": ref.database_id, "url": ref.url, "data_sources": [{"id": ref.data_source_id}]}

    def _ensure_relation(self, themes: DatabaseRef) -> None:
        candidates = self.database.ref()
        schema = dict(self.database.schema())
        if THEME_SPEC.name not in schema:
            relation = {"relation": {"data_source_id": themes.data_source_id, "type": "single_property"}}
            updated = self.session.call(
                "data_sources.update",
                functools.partial(
                    self.client.data_sources.update,
                    candidates.data_source_id,
                    properties={THEME_SPEC.name: relation},
                ),
                write=True,
                what=f"adding the relation {THEME_SPEC.name!r} to {candidates.title!r}",
            )
            schema = dict(updated.get("properties") or {})
            self.database.adopt_schema(schema)  # row reads (and so the row cache) now carry the Theme

    # --- reading

    def _query(self, data_source_id: str, filter_properties: list[str] | None, what: str) -> Iterator[JSON]:
        kwargs: JSON = {"page_size": PAGE_SIZE}
        if filter_properties is not None:
            kwargs["filter_properties"] = filter_properties
        method = functools.partial(self.client.data_sources.query, data_source_id)
        for page in self.session.results("data_sources.query", method, kwargs, what=what):
            if page.get("object", "page") == "page" and not is_trashed(page):
                yield page

    def theme_rows(self) -> list[ThemeRow]:
        ref = self.ensure()
        pages = self._query(ref.data_source_id, None, f"reading the themes of {THEMES_TITLE!r}")
        return [ThemeRow(str(p["id"]), decode_properties(p.get("properties") or {})) for p in pages]

    def candidates(self) -> list[Row]:
        """Every live candidate with its Theme: the row read, so through the row cache (what changed since the
        last read, not every row) and past Notion's 10,000-row query cap (`Rows.iter_rows`' windows)."""
        self.ensure()
        return list(self.rows.read().rows.values())

    # --- writing

    def create_theme(self, values: Mapping[str, Any]) -> str:
        ref = self.ensure()
        page = self.session.call(
            "pages.create",
            functools.partial(
                self.client.pages.create,
                parent={"type": "data_source_id", "data_source_id": ref.data_source_id},
                properties=_encode(values),
            ),
            write=True,
            what=f"creating the theme {values.get('Name')!r} in {THEMES_TITLE!r}",
        )
        self.session.calls.count_blocks(1)
        return str(page["id"])

    def update_theme(self, page_id: str, values: Mapping[str, Any]) -> None:
        if values:
            self._update(page_id, _encode(values), f"updating {', '.join(values)} of theme {page_id}")

    def set_theme(self, candidate_id: str, theme_id: str | None) -> None:
        value = encode_property("relation", (theme_id,) if theme_id else ())
        what = f"setting the Theme of candidate {candidate_id}"
        self.rows.write_encoded(candidate_id, {THEME_SPEC.name: value}, what)  # a candidate: through its cache

    def _update(self, page_id: str, properties: JSON, what: str) -> None:
        send = functools.partial(self.client.pages.update, page_id, properties=properties)
        self.session.call("pages.update", send, write=True, what=what)


def _encode(values: Mapping[str, Any]) -> JSON:
    return {name: encode_property(THEME_PROPERTIES[name], value) for name, value in values.items()}


__all__ = ["THEMES_TITLE", "THEME_PROPERTIES", "ThemeRow", "ThemeStore", "join_ids", "split_ids"]
