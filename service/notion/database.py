"""The candidates database: find it, create it, or adopt an existing one (add what is missing, report the rest).

`diff_schema` is the pure comparison with `SCHEMA`; `Database` makes the calls and caches what it learned
(the database's ids, the live property types and ids) for the gateway's life, and in BACKLOG_CACHE_DIR for the next
command (no search and no schema read per command); a cached id or schema that Notion refuses is dropped and
found again (`invalidate`).

Status stays a select when `init` creates the database: the API can create a status property but not its
groups. makenotion/notion-sdk-js `src/api-endpoints/common.ts` types a status property's request config with
options (name, color, description) and no `groups`, so New/Planned/Done could not be put in To-do/In progress/
Complete (docs/notion-versions.md). An adopted database whose Status is a real status property keeps working
(`also_accepts`); its options cannot be added through the API, so a missing one is reported for the PM.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from notion_client import Client

from service.logging import get_logger
from service.notion.codecs import decode_rich_text, encode_rich_text
from service.notion.errors import SHARE_HINT, NotionError, NotionNotFoundError
from service.notion.schema import EDITOR_NAME, EDITOR_TYPE, SCHEMA, SELF_RELATIONS, PropertySpec, SchemaProblem
from service.notion.session import JSON, PAGE_SIZE, NotionSession
from service.notion.versions import filter_properties_for, is_trashed, title_property_ids, version
from service.settings import Settings

log = get_logger(__name__)

TYPE_LABELS = {
    "title": "Title",
    "rich_text": "Text",
    "select": "Select",
    "multi_select": "Multi-select",
    "status": "Status",
    "number": "Number",
    "date": "Date",
    "url": "URL",
    "checkbox": "Checkbox",
    "relation": "Relation",
    "people": "Person",
}
AGAIN = "then run `backlog init` again"


@dataclass(frozen=True)
class DatabaseRef:
    database_id: str
    data_source_id: str
    title: str
    url: str


@dataclass
class InitReport:
    ref: DatabaseRef
    created: bool
    added_properties: list[str] = field(default_factory=list)
    added_options: list[str] = field(default_factory=list)  # "Source: Discord"
    problems: list[SchemaProblem] = field(default_factory=list)


@dataclass
class SchemaDiff:
    """What adopting a data source needs: properties/options to add (one update) and problems for the PM."""

    additions: dict[str, JSON] = field(default_factory=dict)
    added_properties: list[str] = field(default_factory=list)
    added_options: list[str] = field(default_factory=list)
    problems: list[SchemaProblem] = field(default_factory=list)


# --- the pure schema comparison ----------------------------------------------------------------------------


def property_schema(spec: PropertySpec, data_source_id: str | None = None) -> JSON:
    """The data source property configuration that creates `spec` (self-relations point at `data_source_id`)."""
    if spec.type in ("select", "multi_select"):
        return {spec.type: {"options": [{"name": option} for option in spec.options]}}
    if spec.type == "number":
        return {"number": {"format": "number"}}
    if spec.type == "relation":
        return {"relation": {"data_source_id": data_source_id, "type": "single_property", "single_property": {}}}
    return {spec.type: {}}


def _missing(diff: SchemaDiff, spec: PropertySpec, title_name: str | None, data_source_id: str) -> None:
    if spec.type != "title":
        diff.additions[spec.name] = property_schema(spec, data_source_id)
        diff.added_properties.append(spec.name)
        return
    # A data source has exactly one title property: it must be renamed.
    fix = f"rename the title property {title_name!r} to {spec.name!r} in Notion, {AGAIN}"
    diff.problems.append(SchemaProblem(spec.name, f"missing (the title property is {title_name!r})", "title", fix))


def _wrong_type(spec: PropertySpec, kind: str) -> SchemaProblem:
    label = TYPE_LABELS.get(spec.type, spec.type)
    fix = f"rename the existing {spec.name!r} ({kind}) or change its type to {label} in Notion, {AGAIN}"
    return SchemaProblem(spec.name, kind, spec.type, fix)


def _check_self_relation(diff: SchemaDiff, spec: PropertySpec, found: Mapping[str, Any], data_source_id: str) -> None:
    target = (found.get("relation") or {}).get("data_source_id")
    if target and target.replace("-", "") != data_source_id.replace("-", ""):
        fix = f"rename the existing {spec.name!r} in Notion, {AGAIN}"
        diff.problems.append(
            SchemaProblem(spec.name, "a relation to another database", "a relation to this database", fix)
        )


def _check_options(diff: SchemaDiff, spec: PropertySpec, kind: str, found: Mapping[str, Any]) -> None:
    existing = list((found.get(kind) or {}).get("options") or [])
    names = {str(option.get("name")) for option in existing}
    missing = [option for option in spec.options if option not in names]
    if not missing:
        return
    if kind == "status":  # the API cannot add status options: the PM adds them once
        diff.problems.append(
            SchemaProblem(
                spec.name,
                f"status without option(s) {', '.join(missing)}",
                f"status with options {', '.join(spec.options)}",
                f"add the option(s) {', '.join(repr(m) for m in missing)} to {spec.name!r} in Notion "
                "(status options cannot be added through the API)",
            )
        )
        return
    kept = [{key: option[key] for key in ("id", "name", "color") if key in option} for option in existing]
    diff.additions[spec.name] = {kind: {"options": kept + [{"name": option} for option in missing]}}
    diff.added_options.extend(f"{spec.name}: {option}" for option in missing)


def diff_schema(properties: Mapping[str, Mapping[str, Any]], data_source_id: str) -> SchemaDiff:
    """Compare a data source's properties with `SCHEMA`. Extra PM properties are left alone."""
    diff = SchemaDiff()
    title_name = next((name for name, prop in properties.items() if prop.get("type") == "title"), None)
    for spec in SCHEMA:
        found = properties.get(spec.name)
        if found is None:
            _missing(diff, spec, title_name, data_source_id)
            continue
        kind = str(found.get("type"))
        if kind != spec.type and kind not in spec.also_accepts:
            diff.problems.append(_wrong_type(spec, kind))
        elif kind == "relation" and spec.name in SELF_RELATIONS:
            _check_self_relation(diff, spec, found, data_source_id)
        else:
            _check_options(diff, spec, kind, found)
    if editor_property(properties) is None and EDITOR_NAME not in properties:
        diff.additions[EDITOR_NAME] = {EDITOR_TYPE: {}}
        diff.added_properties.append(EDITOR_NAME)
    return diff


def editor_property(properties: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The name of a "Last edited by" property (any name), which the incremental read filters on; None if none."""
    return next((name for name, prop in properties.items() if prop.get("type") == EDITOR_TYPE), None)


# --- the calls ---------------------------------------------------------------------------------------------


class Database:
    """The candidates database and the workspace around it (the parent page it lives under)."""

    def __init__(
        self, client: Client, session: NotionSession, settings: Settings, *, sandbox_root_page_id: str | None = None
    ) -> None:
        self.client = client
        self.session = session
        self.settings = settings
        self.sandbox_root_page_id = sandbox_root_page_id
        self._parent_page_id: str | None = settings.notion_parent_page_id
        self._ref: DatabaseRef | None = None
        self._types: dict[str, str] | None = None
        self._schema: dict[str, JSON] | None = None
        self.api_version = version(settings.notion_api_version)
        self.type_problems: dict[str, SchemaProblem] = {}
        self.from_disk = False  # the id or schema came from the cache file: a refusal means re-find, not fail

    # --- the cache file (BACKLOG_CACHE_DIR/database.json): disposable, keyed by where and what to find

    def _cache_key(self) -> str:
        s = self.settings
        where = "sandbox" if s.uses_sandbox else s.notion_api_url  # a sandbox file copied elsewhere is the same one
        return json.dumps([where, s.notion_database_id, s.notion_database_title, s.notion_api_version])

    def _cache_file(self) -> Path:
        return self.settings.backlog_cache_dir / "database.json"

    def _load_cached(self) -> None:
        try:
            saved = json.loads(self._cache_file().read_text(encoding="utf-8"))
            if not isinstance(saved, dict) or saved.get("key") != self._cache_key():
                return
            ref = DatabaseRef(**saved["ref"])
            schema = saved.get("schema")
        except (OSError, ValueError, TypeError, KeyError):
            return  # no cache, or an unreadable one: found live
        self._ref, self.from_disk = ref, True
        if isinstance(schema, dict) and self._schema is None:
            self._remember_schema(schema, ref.data_source_id, save=False)

    def _save_cached(self) -> None:
        if self._ref is None or not self._ref.data_source_id:
            return
        saved = {"key": self._cache_key(), "ref": dataclasses.asdict(self._ref), "schema": self._schema}
        try:
            path = self._cache_file()
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{id(self)}.tmp")
            tmp.write_text(json.dumps(saved), encoding="utf-8")
            tmp.replace(path)  # atomic: a second process reads the old file or the new one, never half
        except OSError as exc:
            log.warning("cache.write_failed", path=str(self._cache_file()), error=str(exc))

    def invalidate(self) -> None:
        """Forget the cached id and schema (Notion refused them): the next call finds them live."""
        log.info("notion.database_cache_dropped", path=str(self._cache_file()))
        self._ref = self._types = self._schema = None
        self.type_problems = {}
        self.from_disk = False
        self._cache_file().unlink(missing_ok=True)

    # --- workspace

    def search(self, *, what: str, query: str | None = None, filter: JSON | None = None) -> Iterator[JSON]:
        kwargs: JSON = {"page_size": PAGE_SIZE}
        if query is not None:
            kwargs["query"] = query
        if filter is not None:
            kwargs["filter"] = filter
        yield from self.session.results("search", self.client.search, kwargs, what=what)

    def parent_page_id(self) -> str:
        """NOTION_PARENT_PAGE_ID, else the first top-level page shared with the integration."""
        if self._parent_page_id:
            return self._parent_page_id
        if self.sandbox_root_page_id:
            self._parent_page_id = self.sandbox_root_page_id
            return self._parent_page_id
        for result in self.search(filter={"property": "object", "value": "page"}, what="finding a parent page"):
            if (result.get("parent") or {}).get("type") == "workspace" and not is_trashed(result):
                self._parent_page_id = str(result["id"])
                return self._parent_page_id
        raise NotionNotFoundError(
            "no top-level page is shared with the integration: set NOTION_PARENT_PAGE_ID to the page that should "
            f"hold the backlog, or {SHARE_HINT}"
        )

    # --- finding

    def _by_id(self, database_id: str, title: str) -> DatabaseRef:
        what = f"reading the database NOTION_DATABASE_ID={database_id}"
        db = self.session.call(
            "databases.retrieve", functools.partial(self.client.databases.retrieve, database_id), write=False, what=what
        )
        sources = db.get("data_sources") or []
        if not sources:
            raise NotionNotFoundError(f"{what}: it has no data source; point NOTION_DATABASE_ID at a database")
        source = next((s for s in sources if s.get("name") == title), sources[0])
        return DatabaseRef(
            str(db["id"]), str(source["id"]), decode_rich_text(db.get("title")) or title, str(db.get("url", ""))
        )

    def find(self) -> DatabaseRef | None:
        """NOTION_DATABASE_ID, else the live data source titled NOTION_DATABASE_TITLE; None if there is none."""
        title = self.settings.notion_database_title
        if self.settings.notion_database_id:
            return self._by_id(self.settings.notion_database_id, title)
        what = f"finding the database {title!r}"
        for result in self.search(query=title, filter={"property": "object", "value": "data_source"}, what=what):
            if is_trashed(result):
                continue
            if decode_rich_text(result.get("title")).strip() != title:
                continue
            parent = result.get("parent") or {}
            return DatabaseRef(str(parent.get("database_id", "")), str(result["id"]), title, str(result.get("url", "")))
        return None

    def ref(self) -> DatabaseRef:
        """The candidates database (found, never created here); cached for the gateway's life."""
        if self._ref is None:
            self._load_cached()
        if self._ref is None:
            ref = self.find()
            if ref is None:
                raise NotionNotFoundError(
                    f"the database {self.settings.notion_database_title!r} was not found: run `backlog init` to "
                    f"create it, or set NOTION_DATABASE_ID, or {SHARE_HINT}"
                )
            self._ref = ref
            self._save_cached()
        return self._ref

    # --- schema

    def _remember_schema(
        self, properties: Mapping[str, Mapping[str, Any]], data_source_id: str, *, save: bool = True
    ) -> None:
        self._schema = {name: dict(prop) for name, prop in properties.items()}
        self._types = {name: str(prop.get("type")) for name, prop in properties.items()}
        self.type_problems = {p.property: p for p in diff_schema(properties, data_source_id).problems}
        if save:
            self._save_cached()

    def _read_properties(self, ref: DatabaseRef) -> dict[str, JSON]:
        source = self.session.call(
            "data_sources.retrieve",
            functools.partial(self.client.data_sources.retrieve, ref.data_source_id),
            write=False,
            what=f"reading the schema of {ref.title!r}",
        )
        properties: dict[str, JSON] = source.get("properties") or {}
        return properties

    def property_types(self) -> dict[str, str]:
        """Live property name -> Notion type of the data source (one read per gateway)."""
        if self._types is None:
            ref = self.ref()
            self._remember_schema(self._read_properties(ref), ref.data_source_id)
        assert self._types is not None
        return self._types

    def schema(self) -> dict[str, JSON]:
        """Live property name -> the data source's property object (id, type, options); one read per gateway."""
        if self._schema is None:
            ref = self.ref()
            self._remember_schema(self._read_properties(ref), ref.data_source_id)
        assert self._schema is not None
        return self._schema

    def adopt_schema(self, properties: Mapping[str, Mapping[str, Any]]) -> None:
        """The data source's properties as a write of its schema answered them (a relation just added): the
        next row read asks for the new property too."""
        self._remember_schema(properties, self.ref().data_source_id)

    def filter_properties(self, property_names: Sequence[str]) -> list[str]:
        """The `filter_properties` ids for a query or page retrieve that reads `property_names` (the live ids:
        a PM's rename does not break them). On 2026-12-01 a query without them answers with titles only."""
        return filter_properties_for(property_names, self.schema())

    def editor_property(self) -> str | None:
        """The live "Last edited by" property's name (None: the incremental read cannot skip its own writes)."""
        return editor_property(self.schema())

    def count_rows(self) -> int:
        """Rows of the candidates data source (each one a block), read with only the title property shown."""
        ref = self.ref()
        kwargs: JSON = {"page_size": PAGE_SIZE, "filter_properties": title_property_ids(self.schema())}
        method = functools.partial(self.client.data_sources.query, ref.data_source_id)
        what = f"counting the rows of {ref.title!r}"
        pages = self.session.results("data_sources.query", method, kwargs, what=what)
        return sum(1 for page in pages if page.get("object", "page") == "page")

    def people(self) -> list[JSON]:
        """The workspace's person users, bots excluded (assumed: the user list leaves guests out, as the cap does)."""
        method = self.client.users.list
        users = self.session.results("users.list", method, {"page_size": PAGE_SIZE}, what="listing the members")
        return [user for user in users if user.get("type") == "person"]

    def _update_properties(self, ref: DatabaseRef, properties: JSON, what: str) -> dict[str, JSON]:
        updated = self.session.call(
            "data_sources.update",
            functools.partial(self.client.data_sources.update, ref.data_source_id, properties=properties),
            write=True,
            what=what,
        )
        result: dict[str, JSON] = updated.get("properties") or {}
        return result

    # --- init

    def init(self, *, dry_run: bool = False) -> InitReport:
        """Adopt (add what is missing, report what is wrong) or create the candidates database. Idempotent."""
        ref = self.find()
        if ref is None:
            return self._create(dry_run=dry_run)
        self._ref = ref
        properties = self._read_properties(ref)
        diff = diff_schema(properties, ref.data_source_id)
        if diff.additions and not dry_run:
            what = f"adding {', '.join(diff.additions)} to {ref.title!r}"
            properties = self._update_properties(ref, diff.additions, what) or {**properties, **diff.additions}
        self._remember_schema(properties, ref.data_source_id)
        for problem in diff.problems:
            log.warning("notion.schema_problem", database=ref.title, problem=str(problem))
        return InitReport(ref, False, diff.added_properties, diff.added_options, diff.problems)

    def _create(self, *, dry_run: bool) -> InitReport:
        title = self.settings.notion_database_title
        parent = self.parent_page_id()
        names = [spec.name for spec in SCHEMA]
        if dry_run:
            return InitReport(DatabaseRef("", "", title, ""), True, names)
        plain = {spec.name: property_schema(spec) for spec in SCHEMA if spec.type != "relation"}
        plain[EDITOR_NAME] = {EDITOR_TYPE: {}}
        db = self.session.call(
            "databases.create",
            functools.partial(
                self.client.databases.create,
                parent={"type": "page_id", "page_id": parent},
                title=encode_rich_text(title),
                initial_data_source={"properties": plain},
            ),
            write=True,
            what=f"creating the database {title!r} under page {parent}",
            recover=self._created_database,
        )
        self.session.calls.count_blocks(1)  # a database is one block; its data source is none
        sources = db.get("data_sources") or []
        if not sources:
            raise NotionError(f"creating the database {title!r}: Notion returned no data source")
        ref = DatabaseRef(str(db["id"]), str(sources[0]["id"]), title, str(db.get("url", "")))
        relations = {spec.name: property_schema(spec, ref.data_source_id) for spec in SCHEMA if spec.type == "relation"}
        what = f"adding the self-relations {', '.join(relations)} to {title!r}"
        properties = self._update_properties(ref, relations, what)
        self._ref = ref
        self._remember_schema(properties, ref.data_source_id)
        log.info("notion.database_created", title=title, url=ref.url)
        return InitReport(ref, True, names)

    def _created_database(self) -> JSON | None:
        """Recovery for a create that may have happened: the database object, if it exists now."""
        ref = self.find()
        if ref is None:
            return None
        return {"id": ref.database_id, "url": ref.url, "data_sources": [{"id": ref.data_source_id}]}


__all__ = [
    "TYPE_LABELS",
    "Database",
    "DatabaseRef",
    "InitReport",
    "SchemaDiff",
    "diff_schema",
    "editor_property",
    "property_schema",
]
