"""The local row cache: the candidates' decoded rows in one SQLite file per data source, so that a run reads
only what changed since the last one (a `last_edited_time` filter from the watermark), not the whole backlog.

The cache is disposable: it makes runs cheaper, never more correct. Whether a Source Key exists is decided by a
lookup in Notion, never here; a missing or unreadable file is one full read; a write that fails is logged and the
run goes on. Two processes may share the file: SQLite WAL, and every refresh is one transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from service.logging import get_logger

log = get_logger(__name__)

FORMAT = "1"  # bump when the stored shape changes: an older file is then a full read, never a misread
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    (
        "CREATE TABLE IF NOT EXISTS rows (page_id TEXT PRIMARY KEY, url TEXT NOT NULL, created_time TEXT NOT NULL,"
        " last_edited_time TEXT NOT NULL, last_edited_by TEXT, row_values TEXT NOT NULL)"
    ),
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
class CacheState:
    """What a cache file holds: the rows, where the next incremental read starts, and the last full read."""

    rows: dict[str, CachedRow]
    watermark: datetime | None
    full_read_at: datetime | None


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

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA busy_timeout=30000")
        for statement in _SCHEMA:
            conn.execute(statement)
        return conn

    def load(self) -> CacheState | None:
        """The cached rows, or None when there is no usable cache (missing, corrupt, another format)."""
        if not self.path.exists():
            return None
        try:
            conn = self._connect()
            try:
                meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
                if meta.get("format") != FORMAT or "full_read_at" not in meta:
                    return None
                rows = {
                    page_id: CachedRow(
                        page_id, url, _stamp(created) or datetime.fromtimestamp(0, UTC),
                        _stamp(edited) or datetime.fromtimestamp(0, UTC), by,
                        {name: _decode(v) for name, v in json.loads(values).items()},
                    )
                    for page_id, url, created, edited, by, values in conn.execute("SELECT * FROM rows")
                }  # fmt: skip
            finally:
                conn.close()
        except (sqlite3.Error, ValueError, TypeError, AttributeError, OSError) as exc:
            log.warning("cache.unreadable", path=str(self.path), error=str(exc), next="one full read")
            return None
        return CacheState(rows, _stamp(meta.get("watermark")), _stamp(meta.get("full_read_at")))

    def save(
        self,
        rows: Iterable[CachedRow],
        *,
        removed: Iterable[str] = (),
        watermark: datetime | None = None,
        full_read_at: datetime | None = None,
        replace: bool = False,
    ) -> None:
        """Write changed rows (and drop `removed`) in one transaction; `replace` empties the table first (a full
        read). A failure is logged, never raised: the next run reads more, nothing else."""
        meta: Mapping[str, datetime | None] = {"watermark": watermark, "full_read_at": full_read_at}
        try:
            conn = self._connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                if replace:
                    conn.execute("DELETE FROM rows")
                conn.executemany("DELETE FROM rows WHERE page_id = ?", [(page_id,) for page_id in removed])
                conn.executemany(
                    "INSERT OR REPLACE INTO rows VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (
                            r.page_id, r.url, r.created_time.isoformat(), r.last_edited_time.isoformat(),
                            r.last_edited_by, json.dumps({k: _encode(v) for k, v in r.values.items()}, default=str),
                        )
                        for r in rows
                    ],
                )  # fmt: skip
                stored = {"format": FORMAT, **{k: v.isoformat() for k, v in meta.items() if v is not None}}
                conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(stored.items()))
                conn.execute("COMMIT")
            finally:
                conn.close()
        except (sqlite3.Error, OSError, TypeError, ValueError) as exc:
            log.warning("cache.write_failed", path=str(self.path), error=str(exc), next="the next run reads more")

    def delete(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


__all__ = ["FORMAT", "CacheState", "CachedRow", "RowCache", "UrlCache", "cache_path"]
