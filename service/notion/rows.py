"""Rows of the candidates data source: read them (past Notion's 10,000-row query cap), find them by Source Key,
and upsert them (create new, update changed, skip unchanged by content hash; one bad row never stops a batch).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any, TypeVar

from notion_client import Client

from service.logging import get_logger, redact_text
from service.notion.cache import CachedRow, CacheState, RowCache, cache_path
from service.notion.codecs import CodecError, decode_properties, encode_properties, encode_property, parse_iso
from service.notion.database import Database
from service.notion.errors import (
    NotionAuthError,
    NotionBlockLimitError,
    NotionError,
    NotionInTrashError,
    NotionNotFoundError,
    NotionUnavailableError,
    NotionValidationError,
)
from service.notion.pages import read_page
from service.notion.schema import BY_NAME, EDITOR_TYPE, SCHEMA, THEME_SPEC
from service.notion.session import JSON, PAGE_SIZE, NotionSession, chunks

log = get_logger(__name__)
T = TypeVar("T")

MAX_OR_CONDITIONS = 100  # Source Key conditions per `or` filter
QUERY_CAP_REASON = "query_result_limit_reached"
DRY_RUN_PAGE_ID = ""  # page id reported for rows a dry run would create
GATEWAY_OWNED = frozenset({"Source Key", "Content Hash"})  # written by the gateway itself, never by callers
OnProgress = Callable[[int], None] | None  # told the number of writes done after each one
CREATED_ASCENDING = [{"timestamp": "created_time", "direction": "ascending"}]
# After a create whose answer was lost, how long to keep asking whether it landed before creating again: Notion's
# query index lags behind writes, so "not found right away" does not mean "not created" (healing merges the rest).
RECHECK_WAITS_S = (0.5, 1.0, 2.0, 4.0)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Row(CachedRow):
    """One decoded page of the candidates data source (page_id, url, created_time, last_edited_time,
    last_edited_by, values: the fields the row cache stores)."""

    def get(self, name: str, default: Any = None) -> Any:
        value = self.values.get(name)
        return default if value is None else value

    @property
    def source_key(self) -> str | None:
        key = self.values.get("Source Key")
        return str(key).strip() or None if key else None


@dataclass(frozen=True)
class RowWrite:
    """What sync wants one row to look like. `create_only` is written only when the row is created."""

    source_key: str
    properties: dict[str, Any]
    create_only: dict[str, Any] = field(default_factory=dict)


@dataclass
class UpsertResult:
    created: list[tuple[str, str]] = field(default_factory=list)  # (source_key, page_id)
    updated: list[tuple[str, str]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (source_key, message)


@dataclass(frozen=True)
class RowsRead:
    """One refresh of the rows: every live row (the cache plus what changed), and what changed since the previous
    watermark (every row on a full read). `changed` feeds healing; `rows` feeds cursors, titles and scoring."""

    rows: dict[str, Row]
    changed: list[Row]
    full: bool


@dataclass
class _QueryStatus:
    capped: bool = False  # Notion stopped at its 10,000-row cap (request_status.incomplete_reason)


def content_hash(encoded: Mapping[str, Any]) -> str:
    """First 16 hex chars of sha256 over the canonical JSON of encoded properties: equal hash, no write."""
    canonical = json.dumps(encoded, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _as_datetime(value: Any) -> datetime:
    parsed = parse_iso(str(value)) if value else datetime.fromtimestamp(0, tz=UTC)
    if isinstance(parsed, datetime):
        return parsed
    assert isinstance(parsed, date)
    return datetime.combine(parsed, dtime(), tzinfo=UTC)


def oldest(rows: Iterable[Row]) -> Row:
    """The canonical row among copies of one Source Key: the oldest (the one the PM has been editing); page id
    breaks ties, since Notion's created_time has minute precision. Sync, upsert and healing all use this."""
    return min(rows, key=lambda r: (r.created_time, r.page_id))


def _and_filter(base: JSON | None, extra: JSON) -> JSON:
    """`base AND extra` without nesting deeper than Notion's two levels when `base` is already an `and`."""
    if base is None:
        return extra
    if list(base) == ["and"]:
        return {"and": [*base["and"], extra]}
    return {"and": [base, extra]}


def _sync_owned(write: RowWrite) -> dict[str, Any]:
    """The properties sync may (re)write on an existing row: never the PM's, never the gateway's own."""
    return {
        name: value
        for name, value in write.properties.items()
        if name in BY_NAME and BY_NAME[name].writer != "pm" and name not in GATEWAY_OWNED
    }


class Rows:
    """Row reads and writes of one gateway."""

    def __init__(
        self,
        client: Client,
        session: NotionSession,
        database: Database,
        *,
        sleep: Callable[[float], None] = time.sleep,
        recheck_waits_s: Sequence[float] = RECHECK_WAITS_S,
        cache_dir: Path | None = None,
        full_read_hours: float = 24.0,
        whoami: Callable[[], str] | None = None,
    ) -> None:
        self.client = client
        self.whoami = whoami  # this integration's user id (users.me), for a cache that has seen no own write
        self.session = session
        self.database = database
        self.sleep = sleep
        self.recheck_waits_s = tuple(recheck_waits_s)
        self.cache_dir = cache_dir
        self.full_read_hours = full_read_hours
        self._cache: RowCache | None = None
        self._snapshot: dict[str, Row] | None = None  # the last read plus this process's own writes

    # --- the incremental read

    def fresh_database(self, work: Callable[[], T]) -> T:
        """Run `work`; when Notion refuses a database id or schema that came from the cache file (a 404, or a
        validation error after a PM renamed a property), drop the cache, find the database live, and run it again."""
        try:
            return work()
        except (NotionNotFoundError, NotionValidationError) as exc:
            if not self.database.from_disk:
                raise
            log.info("notion.database_refound", reason=redact_text(str(exc))[:200])
            self.database.invalidate()
            return work()

    def read(self, *, full: bool = False, full_if_pages: int = 0) -> RowsRead:
        """`full_if_pages`: read everything when that costs at most this many query pages (a small backlog, where
        a complete read spares the caller its per-source lookups)."""
        return self.fresh_database(functools.partial(self._read, full=full, full_if_pages=full_if_pages))

    def _row_cache(self) -> RowCache | None:
        """The cache file of the current data source (opened once; None without BACKLOG_CACHE_DIR)."""
        if self.cache_dir is None:
            return None
        path = cache_path(self.cache_dir, self.database.ref().data_source_id)
        if self._cache is None or self._cache.path != path:
            if self._cache is not None:
                self._cache.close()
            self._cache = RowCache(path)
        return self._cache

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()

    def _usable(self, state: CacheState | None, now: datetime, full_if_pages: int) -> CacheState | None:
        if state is None or state.watermark is None or state.full_read_at is None:
            return None
        if state.fields != self._fields():  # rows read without a property asked for now (the Theme, say)
            log.info("notion.rows_fields_changed", next="one full read")
            return None
        if now - state.full_read_at >= timedelta(hours=self.full_read_hours):
            return None
        if full_if_pages and max(1, math.ceil(len(state.rows) / PAGE_SIZE)) <= full_if_pages:
            return None
        return state

    def _read(self, *, full: bool = False, full_if_pages: int = 0) -> RowsRead:
        """Every live row, read incrementally: the cache plus the rows edited on or after its watermark (the
        boundary minute again: Notion's timestamps have minute precision) by anyone but this integration, whose
        own writes the cache holds from their answers. A full read when there is no usable cache, when the last
        full read is older than BACKLOG_FULL_READ_HOURS, and on `full`."""
        cache = self._row_cache()
        now = datetime.now(UTC)
        loaded = None if full or cache is None else cache.load()
        state = self._usable(loaded, now, full_if_pages)
        if state is None:
            pending = loaded.pending if loaded is not None else (cache.load_pending() if cache else ())
            rows = list(self.iter_rows())
            result = RowsRead({r.page_id: r for r in rows}, rows, True)
            self._store(result, rows, previous=None, full_read_at=now, read_started=now)
        else:
            result = self._incremental(state, now)
            pending = state.pending
        if cache is not None:
            cache.settle(p.token for p in pending if p.covered_by(now))
        log.info("notion.rows_read", full=result.full, rows=len(result.rows), changed=len(result.changed))
        # One order whatever the cache held: oldest first, as a full read answers (deleting the cache changes
        # no result, down to which of two equal titles a duplicate suggestion names).
        ordered = dict(sorted(result.rows.items(), key=lambda item: (item[1].created_time, item[0])))
        self._snapshot = dict(ordered)
        return RowsRead(ordered, result.changed, result.full)

    def _incremental(self, state: CacheState, started: datetime) -> RowsRead:
        """The rows edited since the watermark, merged into the cached ones. `changed`: the rows the read shows
        edited, and the rows written after the watermark whose answers the cache holds (healing looks at both)."""
        assert state.watermark is not None
        since = {"on_or_after": state.watermark.isoformat()}
        edited: JSON = {"timestamp": "last_edited_time", "last_edited_time": since}
        skip = self._own_edits_filter(state)
        delta = list(self.iter_rows(filter=_and_filter(edited, skip) if skip else edited))
        cached = {page_id: Row(**vars(r)) for page_id, r in state.rows.items()}
        merged = {**cached, **{r.page_id: r for r in delta}}
        read_ids = {r.page_id for r in delta}
        changed = [r for r in delta if cached.get(r.page_id) != r] + [
            r for page_id, r in cached.items() if page_id in state.recent and page_id not in read_ids
        ]  # the second part: rows stored since the previous read (own writes: their answers, not the read)
        result = RowsRead(merged, changed, False)
        self._store(result, delta, previous=state.watermark, full_read_at=state.full_read_at, read_started=started)
        log.info("notion.rows_delta", read=len(delta), own_edits_skipped=skip is not None)
        return result

    def _own_edits_filter(self, state: CacheState) -> JSON | None:
        """`Last edited by` is none of this integration's users, when that is safe: every own write of the file
        is settled (a pending one may have landed without its answer in the file) and the property exists."""
        if state.pending:
            log.info("notion.own_edits_read", reason="a write of this service is pending", count=len(state.pending))
            return None
        prop = self.database.editor_property()
        if prop is None:
            log.info("notion.own_edits_read", reason="no 'Last edited by' property: run `backlog init` to add it")
            return None
        editors = state.editors or self._learn_editor()
        conditions = [{"property": prop, EDITOR_TYPE: {"does_not_contain": editor}} for editor in editors]
        return conditions[0] if len(conditions) == 1 else {"and": conditions}

    def _learn_editor(self) -> tuple[str, ...]:
        """This integration's user id, asked once per cache file (users.me) when no write has shown it yet."""
        if self.whoami is None or self._cache is None:
            return ()
        editor = self.whoami()
        self._cache.save((), editor=editor)
        return (editor,)

    def _store(
        self, result: RowsRead, read: list[Row], *, previous: datetime | None, full_read_at: Any, read_started: datetime
    ) -> None:
        if self._cache is None:
            return
        newest = max((r.last_edited_time for r in read), default=previous)
        if result.full and newest is None:
            newest = EPOCH  # an empty database: the next read asks for every edit (not Notion's clock vs ours)
        self._cache.save(
            (CachedRow(**vars(r)) for r in read),
            watermark=newest,
            full_read_at=full_read_at,
            replace=result.full,
            read_started=read_started,
            fields=self._fields(),
        )

    def _fields(self) -> str:
        """The properties a read asks for, as the cache records them (a PM or `themes` adding one: a full read)."""
        return ",".join(sorted(self._read_properties()))

    def snapshot(self) -> dict[str, Row] | None:
        """The rows of the last `read` with this process's writes applied (None before a read): what `run`
        hands from sync to score instead of reading again."""
        return None if self._snapshot is None else dict(self._snapshot)

    # --- this service's writes: announced, then applied from their answers (write-through)

    def _write(
        self, endpoint: str, send: Callable[[], Any], what: str, recover: Callable[[], JSON | None] | None = None
    ) -> JSON:
        """One write of a row: a pending mark in the cache first, the call, then its answer into the cache (and the
        snapshot) with the mark settled in the same transaction. No answer (an error after the request may have
        landed): the mark stays, ended, and the next read includes this integration's own edits."""
        cache = self._row_cache()
        token = uuid.uuid4().hex
        marked = cache is not None and cache.begin_write(token, datetime.now(UTC))
        try:
            page = self.session.call(endpoint, send, write=True, what=what, recover=recover)
        except (NotionValidationError, NotionAuthError, NotionBlockLimitError, NotionNotFoundError, CodecError):
            if marked and cache is not None:
                cache.settle([token])  # refused (or the page is gone): nothing was written
            raise
        except BaseException:
            if marked and cache is not None:
                cache.end_write(token, datetime.now(UTC))
            raise
        self._remember(page, token if marked else None)
        return page

    def _remember(self, page: Mapping[str, Any], token: str | None = None) -> None:
        """Apply a write's answer to the snapshot and the cache file; a page in the trash leaves both. An answer
        without the whole row (a create found again after a lost answer, a long relation) is not applied: its
        mark ends instead, so the next read asks Notion."""
        cache = self._cache
        page_id = str(page.get("id") or "")
        if page_id and (page.get("in_trash") or page.get("archived")):
            self._forget(page_id, settled=[token] if token else [])
            return
        properties = page.get("properties")
        if (
            not page_id
            or not isinstance(properties, dict)
            or any(p.get("type") == "relation" and p.get("has_more") for p in properties.values())
        ):
            self._snapshot = None  # a long relation is not in the answer: the next step reads again
            if token and cache is not None:
                cache.end_write(token, datetime.now(UTC))
            return
        before = (self._snapshot or {}).get(page_id)
        row = self._answered_row(page, properties, before)
        if self._snapshot is not None:
            self._snapshot[page_id] = row
        if cache is not None:
            editor = row.last_edited_by
            if not cache.save([CachedRow(**vars(row))], settled=[token] if token else [], editor=editor) and token:
                cache.end_write(token, datetime.now(UTC))

    def _answered_row(self, page: Mapping[str, Any], properties: Mapping[str, Any], before: Row | None) -> Row:
        """The row a write's answer shows, limited to the properties a read asks for (as a read would hold it)."""
        wanted = self._read_names()
        decoded = {name: value for name, value in decode_properties(properties).items() if name in wanted}
        return Row(
            page_id=str(page["id"]),
            url=str(page.get("url", "")) or (before.url if before else ""),
            created_time=_as_datetime(page.get("created_time")),
            last_edited_time=_as_datetime(page.get("last_edited_time")),
            last_edited_by=(page.get("last_edited_by") or {}).get("id"),
            values={**(before.values if before else {}), **decoded},
        )

    def forget(self, page_id: str) -> None:
        """Drop a row Notion has put in the trash from the snapshot and the cache file."""
        self._forget(page_id)

    def _forget(self, page_id: str, settled: Sequence[str] = ()) -> None:
        if self._snapshot is not None:
            self._snapshot.pop(page_id, None)
        cache = self._row_cache()
        if cache is not None:
            cache.save((), removed=[page_id], settled=settled)

    # --- reading

    def row(self, page: Mapping[str, Any]) -> Row:
        properties = page.get("properties") or {}
        values = decode_properties(properties)
        for name, prop in properties.items():
            if prop.get("type") == "relation" and prop.get("has_more"):  # page objects show only 25 ids
                values[name] = self._full_relation(str(page["id"]), str(prop.get("id")), name)
        return Row(
            page_id=str(page["id"]),
            url=str(page.get("url", "")),
            created_time=_as_datetime(page.get("created_time")),
            last_edited_time=_as_datetime(page.get("last_edited_time")),
            last_edited_by=(page.get("last_edited_by") or {}).get("id"),
            values=values,
        )

    def _full_relation(self, page_id: str, property_id: str, name: str) -> tuple[str, ...]:
        items = self.session.results(
            "pages.properties.retrieve",
            functools.partial(self.client.pages.properties.retrieve, page_id=page_id, property_id=property_id),
            {"page_size": PAGE_SIZE},
            what=f"reading relation {name!r} of page {page_id}",
        )
        return tuple(str((item.get("relation") or {}).get("id")) for item in items)

    def _query_once(
        self, data_source_id: str, filter: JSON | None, sorts: list[JSON], what: str, status: _QueryStatus | None = None
    ) -> Iterator[JSON]:
        """Every page of one query (all cursors). `status.capped` tells whether Notion stopped at its cap."""
        # Exactly the properties rows are read for (on 2026-12-01 a query without them answers titles only).
        kwargs: JSON = {"page_size": PAGE_SIZE, "sorts": sorts, "filter_properties": self._read_properties()}
        if filter is not None:
            kwargs["filter"] = filter
        method = functools.partial(self.client.data_sources.query, data_source_id)
        for body in self.session.pages("data_sources.query", method, kwargs, what=what):
            if status is not None and (body.get("request_status") or {}).get("incomplete_reason") == QUERY_CAP_REASON:
                status.capped = True
            yield from (r for r in body.get("results") or [] if r.get("object", "page") == "page")

    def iter_rows(self, *, filter: JSON | None = None, sorts: list[JSON] | None = None) -> Iterator[Row]:
        """Every row matching `filter`, 100 per call. Past Notion's 10,000-row cap a query is continued in
        created_time windows (on_or_after the last created_time seen, ids deduped at the boundary); with custom
        `sorts` the order then holds only within the first 10,000 rows."""
        ref = self.database.ref()
        what = f"reading rows of {ref.title!r}"
        yielded: set[str] = set()
        window_start: str | None = None
        current_sorts = sorts or CREATED_ASCENDING
        while True:
            window_filter = filter
            if window_start is not None:
                window_filter = _and_filter(
                    filter, {"timestamp": "created_time", "created_time": {"on_or_after": window_start}}
                )
            status = _QueryStatus()
            last_created: str | None = None
            fresh = 0
            for page in self._query_once(ref.data_source_id, window_filter, current_sorts, what, status):
                last_created = str(page.get("created_time") or last_created or "")
                page_id = str(page["id"])
                if page_id in yielded:
                    continue
                yielded.add(page_id)
                fresh += 1
                yield self.row(page)
            if not status.capped:
                return
            if current_sorts is not CREATED_ASCENDING:
                # Custom order: windows need created_time order, so start over and skip what was yielded.
                log.info("notion.query_cap", what=what, rows=len(yielded), next="restart in created_time order")
                current_sorts, window_start = CREATED_ASCENDING, None
                continue
            if not last_created or fresh == 0:
                raise NotionError(
                    f"{what}: more than 10,000 rows share the created_time {window_start}; narrow the filter"
                )
            log.info("notion.query_cap", what=what, rows=len(yielded), next_window=last_created)
            window_start = last_created

    def find_by_source_keys(self, keys: Iterable[str]) -> dict[str, Row]:
        """Rows by Source Key, up to 100 keys per query (`or` of equals): what decides whether a key exists."""
        wanted = list(keys)
        return self.fresh_database(functools.partial(self._find_by_source_keys, wanted))

    def _find_by_source_keys(self, keys: Iterable[str]) -> dict[str, Row]:
        wanted = list(dict.fromkeys(k.strip() for k in keys if k and k.strip()))
        copies: dict[str, list[Row]] = {}
        if not wanted:
            return {}
        ref = self.database.ref()
        for batch in chunks(wanted, MAX_OR_CONDITIONS):
            conditions = [{"property": "Source Key", "rich_text": {"equals": key}} for key in batch]
            what = f"looking up {len(batch)} Source Key(s) in {ref.title!r}"
            for page in self._query_once(ref.data_source_id, {"or": conditions}, CREATED_ASCENDING, what):
                row = self.row(page)
                if row.source_key is not None and row.source_key in batch:
                    copies.setdefault(row.source_key, []).append(row)
        found = {key: oldest(rows) for key, rows in copies.items()}
        for key, rows in copies.items():
            if len(rows) > 1:  # the oldest wins everywhere; the next sync's healing merges the others into it
                log.warning("notion.duplicate_source_key", source_key=key, kept=found[key].url, copies=len(rows))
        return found

    def get_row(self, page_id: str) -> Row:
        return self.row(read_page(self.client, self.session, page_id, filter_properties=self._read_properties()))

    def _read_properties(self) -> list[str]:
        """The live ids of the schema's properties and of the Theme relation (once `backlog themes` added it):
        what every row read asks Notion for, so the themes step reads its candidates through the row cache."""
        return self.database.filter_properties([spec.name for spec in SCHEMA] + [THEME_SPEC.name])

    def _read_names(self) -> set[str]:
        """The live names of the properties a row read asks for."""
        ids = set(self._read_properties())
        return {name for name, prop in self.database.schema().items() if str(prop.get("id")) in ids}

    # --- writing

    def encode(self, values: Mapping[str, Any]) -> dict[str, JSON]:
        types = self.database.property_types()
        for name in values:
            if name in self.database.type_problems:
                raise CodecError(str(self.database.type_problems[name]))
        return encode_properties(values, types)

    def _update_page(self, page_id: str, properties: Mapping[str, JSON], what: str) -> None:
        try:
            self.write_encoded(page_id, properties, what)
        except (NotionNotFoundError, NotionInTrashError):
            # Gone from Notion, or in its trash since the last full read (a query never returns trashed rows, so
            # the incremental read could not tell): gone from the cache too, so the next plan leaves it out.
            self._forget(page_id)
            raise

    def write_encoded(self, page_id: str, properties: Mapping[str, JSON], what: str) -> None:
        """Write already-encoded properties to a candidate row (the answer goes into the cache)."""
        send = functools.partial(self.client.pages.update, page_id, properties=dict(properties))
        self._write("pages.update", send, what)

    def update_properties(self, page_id: str, values: dict[str, Any], *, what: str = "") -> None:
        """Write plain values to a page (scorer/report). Nothing to write, no call."""
        if not values:
            return
        what = what or f"updating {', '.join(values)} of page {page_id}"
        self.fresh_database(lambda: self._update_page(page_id, self.encode(values), what))

    def upsert(
        self, writes: Sequence[RowWrite], existing: Mapping[str, Row] | None, *, dry_run: bool, on_progress: OnProgress
    ) -> UpsertResult:
        """Create new rows, update changed ones (sync-owned properties only), skip unchanged ones by hash.
        One bad row is reported in `failed` and the batch goes on."""
        result = UpsertResult()
        if not writes:
            return result
        if existing is None:
            existing = self.find_by_source_keys(w.source_key for w in writes)
        written: dict[str, tuple[str, str]] = {}  # rows this call wrote: key -> (page id, content hash)
        for done, write in enumerate(writes, start=1):
            try:
                one = functools.partial(self._upsert_one, write, existing, written, result, dry_run=dry_run)
                self.fresh_database(one)
            except (NotionAuthError, NotionUnavailableError, NotionBlockLimitError):
                raise  # not about this row: every other create would fail the same way
            except (CodecError, NotionError) as exc:
                message = redact_text(str(exc))
                result.failed.append((write.source_key, message))
                log.warning("notion.row_failed", source_key=write.source_key, error=message)
            if on_progress is not None:
                on_progress(done)
        return result

    def _upsert_one(
        self,
        write: RowWrite,
        existing: Mapping[str, Row],
        written: dict[str, tuple[str, str]],
        result: UpsertResult,
        *,
        dry_run: bool,
    ) -> None:
        key = write.source_key.strip()
        if not key:
            raise CodecError("empty Source Key: every row needs a unique <source>:<external id>")
        encoded_owned = self.encode(_sync_owned(write))
        digest = content_hash(encoded_owned)
        if key in written:
            page_id, current_hash = written[key]
        elif key in existing:
            row = existing[key]
            page_id, current_hash = row.page_id, str(row.get("Content Hash", "")).strip()
        else:
            page_id, current_hash = "", ""
        if not page_id:
            properties = self._new_row_properties(write, key, digest)  # encoded even in a dry run: errors show
            new_id = DRY_RUN_PAGE_ID if dry_run else self._create_row(key, properties)
            written[key] = (new_id, digest)
            result.created.append((key, new_id))
            return
        if current_hash == digest:
            result.unchanged.append(key)
            return
        if not dry_run:
            payload = {**encoded_owned, "Content Hash": encode_property("rich_text", digest)}
            self._update_page(page_id, payload, f"updating page {page_id} ({key})")
        written[key] = (page_id, digest)
        result.updated.append((key, page_id))

    def _new_row_properties(self, write: RowWrite, key: str, digest: str) -> dict[str, JSON]:
        values = {
            name: value
            for name, value in {**write.properties, **write.create_only}.items()
            if name not in GATEWAY_OWNED
        }
        properties = self.encode(values)
        properties["Source Key"] = encode_property("rich_text", key)
        properties["Content Hash"] = encode_property("rich_text", digest)
        return properties

    def _create_row(self, key: str, properties: dict[str, JSON]) -> str:
        ref = self.database.ref()

        def already_created() -> JSON | None:
            return self._landed(key)

        page = self._write(
            "pages.create",
            functools.partial(
                self.client.pages.create,
                parent={"type": "data_source_id", "data_source_id": ref.data_source_id},
                properties=properties,
            ),
            f"creating the row {key}",
            recover=already_created,
        )
        self.session.calls.count_blocks(1)  # every row is a page, i.e. a block (the free plan's cap counts them)
        return str(page["id"])

    def _landed(self, key: str) -> JSON | None:
        """The row a create whose answer was lost made, if queries can see it: asked again with growing waits,
        since a fresh page may be invisible to queries for a while (read-after-write is not promised)."""
        for wait in (0.0, *self.recheck_waits_s):
            if wait:
                self.sleep(wait)
            row = self.find_by_source_keys([key]).get(key)
            if row is not None:
                return {"id": row.page_id, "url": row.url}
        log.warning("notion.create_not_visible", source_key=key, waited_s=sum(self.recheck_waits_s))
        return None

    def trash_row(self, page_id: str, *, what: str = "") -> None:
        """Move a row to Notion's trash (recoverable there for 30 days). `in_trash` is the field's name from
        2024 on; 2025-09-03 also takes the older `archived`, 2026-03-11 only `in_trash`."""
        page = self._write(
            "pages.update",
            functools.partial(self.client.pages.update, page_id, in_trash=True),
            what or f"moving page {page_id} to the trash",
        )
        if not (page.get("in_trash") or page.get("archived")):
            self._forget(page_id)  # an answer without the flag: the row is gone all the same


__all__ = [
    "DRY_RUN_PAGE_ID",
    "GATEWAY_OWNED",
    "Row",
    "RowWrite",
    "Rows",
    "RowsRead",
    "UpsertResult",
    "content_hash",
    "oldest",
]
