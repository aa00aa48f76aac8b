"""The local row cache: the candidates' decoded rows in one SQLite file per data source, so that a run reads
only what changed since the last one (a `last_edited_time` filter from the watermark), not the whole backlog.

The cache is disposable: it makes runs cheaper, never more correct. Whether a Source Key exists is decided by a
lookup in Notion, never here; a missing or unreadable file is one full read; a write that fails is logged and the
run goes on. Two processes may share the file: SQLite WAL, and every refresh is one transaction.

The service's own writes go into the file from their answers (write-through), so the incremental read can skip
rows this integration edited last. A write is announced first (a *pending* mark: pid, start) and the mark goes in
the same transaction as the answer; a mark that is still there (the process died, the answer was lost) makes every
read include the integration's own edits until a read that started after that write ended covers it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from service.logging import get_logger

log = get_logger(__name__)

FORMAT = "4"  # bump when the stored shape changes: an older file is then a full read, never a misread
# 4: rows hold the Theme relation too (the themes step reads its candidates from the cache)
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    (
        "CREATE TABLE IF NOT EXISTS rows (page_id TEXT PRIMARY KEY, url TEXT NOT NULL, created_time TEXT NOT NULL,"
        " last_edited_time TEXT NOT NULL, last_edited_by TEXT, row_values TEXT NOT NULL, stored_at TEXT NOT NULL)"
    ),
    (
        "CREATE TABLE IF NOT EXISTS pending (token TEXT PRIMARY KEY, pid INTEGER NOT NULL, started TEXT NOT NULL,"
        " ended TEXT)"
    ),
)


_COLUMNS = "url, created_time, last_edited_time, last_edited_by, row_values, stored_at"
_SET = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS.split(", "))
# A write's answer is the row as of that write: it replaces what is there.
_UPSERT_ANSWER = f"INSERT INTO rows VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(page_id) DO UPDATE SET {_SET}"  # noqa: S608 - constant columns
# A read's row replaces an older edit, or one of the same minute stored before the read began.
_UPSERT_READ = (
    f"INSERT INTO rows VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(page_id) DO UPDATE SET {_SET} "  # noqa: S608
    "WHERE excluded.last_edited_time > rows.last_edited_time"
    " OR (excluded.last_edited_time = rows.last_edited_time AND rows.stored_at <= ?)"
)


@dataclass(frozen=True)
class CachedRow:
    """One row as the cache holds it (the fields of `rows.Row`, kept free of the Notion layer's imports)."""

    page_id: str
    url: str
    created_time: datetime
    last_edited_time: datetime
    last_edited_by: str | None
    values: dict[str, Any]


@dataclass(frozen=True)
class PendingWrite:
    """A write of this service whose answer is not in the file (yet): in flight, or ended without one."""

    token: str
    pid: int
    started: datetime
    ended: datetime | None

    def covered_by(self, read_started: datetime) -> bool:
        """A read that started after this write ended (or after its process died) sees what it did."""
        if self.ended is not None:
            return self.ended <= read_started
        return not _alive(self.pid)


@dataclass(frozen=True)
class CacheState:
    """What a cache file holds: the rows, where the next incremental read starts, the last full read, whose
    edits come from write answers (`editors`: this integration's user ids) and the writes still pending."""

    rows: dict[str, CachedRow]
    watermark: datetime | None
    full_read_at: datetime | None
    editors: tuple[str, ...] = ()
    pending: tuple[PendingWrite, ...] = ()
    recent: frozenset[str] = frozenset()  # rows stored since the previous read started (own writes among them)
    fields: str | None = None  # the property ids the rows were read with (another set: they are not usable)


@dataclass
class _Memory:
    """The file as this connection last read it, with its own saves applied since: a long-lived process (`serve`)
    loads 10,000 rows once, not at every webhook. Valid while `PRAGMA data_version` (which only another
    connection's commit moves) is `version`."""

    version: int
    meta: dict[str, str]
    rows: dict[str, CachedRow]
    stored: dict[str, str]  # page id -> stored_at
    pending: dict[str, PendingWrite]


def _pending_marks(conn: sqlite3.Connection) -> tuple[PendingWrite, ...]:
    found = conn.execute("SELECT token, pid, started, ended FROM pending").fetchall()
    return tuple(
        PendingWrite(token, int(pid), _stamp(started) or datetime.fromtimestamp(0, UTC), _stamp(ended))
        for token, pid, started, ended in found
    )


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _encode(value: Any) -> Any:
    """Decoded property values as JSON, with dates, datetimes and tuples tagged so they come back the same."""
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, tuple | list):
        return {"$t": [_encode(item) for item in value]}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "$dt" in value:
            return datetime.fromisoformat(value["$dt"])
        if "$d" in value:
            return date.fromisoformat(value["$d"])
        if "$t" in value:
            return tuple(_decode(item) for item in value["$t"])
    return value


def _stamp(text: str | None) -> datetime | None:
    if not text:
        return None
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class UrlCache:
    """Page id -> the link a person opens (a page's URL never changes): a report re-run needs no read for it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, str]:
        try:
            saved = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in saved.items()} if isinstance(saved, dict) else {}

    def get(self, page_id: str) -> str | None:
        return self._load().get(page_id)

    def put(self, page_id: str, url: str) -> None:
        if not url:
            return
        try:
            saved = {**self._load(), page_id: url}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{id(self)}.tmp")
            tmp.write_text(json.dumps(saved), encoding="utf-8")
            tmp.replace(self.path)
        except OSError as exc:
            log.warning("cache.write_failed", path=str(self.path), error=str(exc))


def cache_path(cache_dir: Path, data_source_id: str) -> Path:
    return cache_dir / f"rows-{data_source_id.replace('-', '')}.sqlite3"


class RowCache:
    """One data source's rows on disk. Every method fails soft: a broken file reads as no cache at all."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # sync writes rows from one thread per source
        self._memory: _Memory | None = None

    def _connect(self) -> sqlite3.Connection:
        """One connection for the cache's life (a write-through per row must stay cheap)."""
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # a disposable cache: a power cut costs a full read
            conn.execute("PRAGMA busy_timeout=30000")
            for statement in _SCHEMA:
                conn.execute(statement)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(rows)")}
            if "stored_at" not in columns:  # an older file: start it over (one full read)
                conn.executescript("DROP TABLE rows; DELETE FROM meta;")
                conn.execute(_SCHEMA[1])
            self._conn = conn
        return self._conn

    def close(self) -> None:
        with self._lock:
            self._memory = None  # data_version is per connection
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _reset(self) -> None:
        """After an error: drop the connection (the next call opens the file again)."""
        self._memory = None
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def load(self) -> CacheState | None:
        """The cached rows, or None when there is no usable cache (missing, corrupt, another format)."""
        if not self.path.exists():
            return None
        try:
            with self._lock:
                memory = self._current(self._connect())
        except (sqlite3.Error, ValueError, TypeError, AttributeError, OSError) as exc:
            with self._lock:
                self._reset()
            log.warning("cache.unreadable", path=str(self.path), error=str(exc), next="one full read")
            return None
        meta = memory.meta
        if meta.get("format") != FORMAT or "full_read_at" not in meta:
            return None
        since = meta.get("read_started", "~")  # "~" sorts after every timestamp: nothing is recent
        recent = frozenset(page_id for page_id, stored in memory.stored.items() if stored > since)  # not by that read
        return CacheState(
            dict(memory.rows),
            _stamp(meta.get("watermark")),
            _stamp(meta.get("full_read_at")),
            tuple(json.loads(meta.get("editors", "[]"))),
            tuple(memory.pending.values()),
            recent,
            meta.get("fields"),
        )

    def _current(self, conn: sqlite3.Connection) -> _Memory:
        """The memory when no other connection committed since it was read, else the file read again."""
        version = int(conn.execute("PRAGMA data_version").fetchone()[0])
        if self._memory is not None and self._memory.version == version:
            return self._memory
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        rows: dict[str, CachedRow] = {}
        stored: dict[str, str] = {}
        query = f"SELECT page_id, {_COLUMNS} FROM rows"  # noqa: S608 - constant columns
        for page_id, url, created, edited, by, values, stored_at in conn.execute(query):
            rows[page_id] = CachedRow(
                page_id, url, _stamp(created) or datetime.fromtimestamp(0, UTC),
                _stamp(edited) or datetime.fromtimestamp(0, UTC), by,
                {name: _decode(v) for name, v in json.loads(values).items()},
            )  # fmt: skip
            stored[page_id] = stored_at
        pending = {mark.token: mark for mark in _pending_marks(conn)}
        self._memory = _Memory(version, meta, rows, stored, pending)
        return self._memory

    def load_pending(self) -> tuple[PendingWrite, ...]:
        """The pending marks alone (a full read settles the ones it covers, whatever else the file holds)."""
        if not self.path.exists():
            return ()
        try:
            with self._lock:
                return _pending_marks(self._connect())
        except (sqlite3.Error, OSError):
            return ()

    def save(
        self,
        rows: Iterable[CachedRow],
        *,
        removed: Iterable[str] = (),
        watermark: datetime | None = None,
        full_read_at: datetime | None = None,
        replace: bool = False,
        settled: Iterable[str] = (),
        editor: str | None = None,
        read_started: datetime | None = None,
        fields: str | None = None,
    ) -> bool:
        """Write rows (and drop `removed`) in one transaction. Rows a read returned (`read_started`: when it began)
        never replace a newer one: a write's answer stored while the read ran stays (its minute may be the same).
        `replace` (a full read) drops the rows stored before the read began first. `settled` pending marks go in
        the same transaction; `editor` joins the editors whose writes come from answers; `fields` (a read's)
        records the properties the rows hold. A failure is logged, never raised (False): the next run reads
        more, nothing else."""
        meta: Mapping[str, datetime | None] = {
            "watermark": watermark,
            "full_read_at": full_read_at,
            "read_started": read_started,
        }
        now = datetime.now(UTC).isoformat()
        rows, removed, settled = list(rows), list(removed), list(settled)
        as_of = read_started.isoformat() if read_started else None
        encoded = [json.dumps({k: _encode(v) for k, v in r.values.items()}, default=str) for r in rows]
        try:
            with self._lock:
                conn = self._connect()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    if replace:
                        started = read_started.isoformat() if read_started else "~"
                        conn.execute("DELETE FROM rows WHERE stored_at < ?", (started,))
                    conn.executemany("DELETE FROM rows WHERE page_id = ?", [(page_id,) for page_id in removed])
                    conn.executemany(
                        _UPSERT_READ if as_of else _UPSERT_ANSWER,
                        [
                            (
                                r.page_id, r.url, r.created_time.isoformat(), r.last_edited_time.isoformat(),
                                r.last_edited_by, values,
                                as_of or now,  # a read's rows: as of its start
                                *((as_of,) if as_of else ()),
                            )
                            for r, values in zip(rows, encoded, strict=True)
                        ],
                    )  # fmt: skip
                    conn.executemany("DELETE FROM pending WHERE token = ?", [(token,) for token in settled])
                    stored = {"format": FORMAT, **{k: v.isoformat() for k, v in meta.items() if v is not None}}
                    if fields is not None:
                        stored["fields"] = fields
                    if editor:
                        known = conn.execute("SELECT value FROM meta WHERE key = 'editors'").fetchone()
                        editors = json.loads(known[0]) if known else []
                        if editor not in editors:
                            stored["editors"] = json.dumps([*editors, editor])
                    conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(stored.items()))
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                if replace:
                    self._memory = None  # a full read: the next load reads the file
                else:
                    self._remember(list(zip(rows, encoded, strict=True)), removed, settled, stored, as_of or now, as_of)
        except (sqlite3.Error, OSError, TypeError, ValueError) as exc:
            with self._lock:
                self._reset()
            log.warning("cache.write_failed", path=str(self.path), error=str(exc), next="the next run reads more")
            return False
        return True

    def _remember(
        self,
        rows: list[tuple[CachedRow, str]],
        removed: list[str],
        settled: list[str],
        meta: dict[str, str],
        stored_at: str,
        as_of: str | None,
    ) -> None:
        """Apply one committed save to the memory, by the same rules as the SQL (values as the file holds them)."""
        memory = self._memory
        if memory is None:
            return
        for page_id in removed:
            memory.rows.pop(page_id, None)
            memory.stored.pop(page_id, None)
        for row, values in rows:
            old = memory.rows.get(row.page_id)
            if as_of and old is not None:
                stamp, before = row.last_edited_time.isoformat(), old.last_edited_time.isoformat()
                if not (stamp > before or (stamp == before and memory.stored[row.page_id] <= as_of)):
                    continue
            decoded = {name: _decode(v) for name, v in json.loads(values).items()}
            memory.rows[row.page_id] = dataclasses.replace(row, values=decoded)
            memory.stored[row.page_id] = stored_at
        for token in settled:
            memory.pending.pop(token, None)
        memory.meta.update(meta)

    def _pending(self, statement: str, params: tuple[Any, ...]) -> bool:
        try:
            with self._lock:
                self._connect().execute(statement, params)
        except (sqlite3.Error, OSError) as exc:
            with self._lock:
                self._reset()
            log.warning("cache.write_failed", path=str(self.path), error=str(exc), next="the next run reads more")
            return False
        return True

    def begin_write(self, token: str, now: datetime) -> bool:
        """Announce a write before it is sent (False: the mark could not be stored, so the write-through is off
        for this write and the caller must not trust the cache to hold it)."""
        done = self._pending(
            "INSERT OR REPLACE INTO pending VALUES (?, ?, ?, NULL)", (token, os.getpid(), now.isoformat())
        )
        if done and self._memory is not None:
            self._memory.pending[token] = PendingWrite(token, os.getpid(), _stamp(now.isoformat()) or now, None)
        return done

    def end_write(self, token: str, now: datetime) -> None:
        """The write ended without an answer in the file: a read that starts from now on covers it."""
        done = self._pending("UPDATE pending SET ended = ? WHERE token = ?", (now.isoformat(), token))
        mark = self._memory.pending.get(token) if self._memory is not None else None
        if done and mark is not None and self._memory is not None:
            self._memory.pending[token] = dataclasses.replace(mark, ended=_stamp(now.isoformat()))

    def settle(self, tokens: Iterable[str]) -> None:
        """Drop pending marks a read has covered (or writes that certainly did not land)."""
        for token in tokens:
            if self._pending("DELETE FROM pending WHERE token = ?", (token,)) and self._memory is not None:
                self._memory.pending.pop(token, None)

    def delete(self) -> None:
        self._memory = None
        self.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


__all__ = ["FORMAT", "CacheState", "CachedRow", "PendingWrite", "RowCache", "UrlCache", "cache_path"]
