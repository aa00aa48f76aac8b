"""SQLite storage of the sandbox: JSON documents by id, plus the ordered children of every page and block.

One connection guarded by the sandbox's lock (SQLite serialises writers anyway), WAL journal, one commit per API
request, so a killed process leaves the file as it was after the last answered request.

Parsed documents are cached by id (a query over 10,000 rows would otherwise parse 10,000 JSON documents per
page of results). Callers mutate a document only to `update` it in the same request; a rollback drops the cache.
A commit by another process on the same file (`PRAGMA data_version` changes) drops only the documents it wrote:
every insert and update stamps its row with the next value of one counter (`objects.stamp`, indexed), so the
documents written since the last look are one indexed range (a PM edit in a 10,000-row workspace re-parses one
document, not 10,000). `generation` moves on every change seen, so results derived from the documents (ordered
query results) know when they are stale.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from service.sandbox.model import JSON

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    parent_id TEXT,
    doc TEXT NOT NULL,
    stamp INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS objects_parent ON objects(parent_id, kind);
CREATE INDEX IF NOT EXISTS objects_kind ON objects(kind);
CREATE TABLE IF NOT EXISTS children (parent_id TEXT PRIMARY KEY, ids TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Store:
    """Objects (`user`, `page`, `database`, `data_source`, `block`) as JSON documents, in creation order."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level="DEFERRED")
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._add_stamps()
        self._conn.commit()
        self._docs: dict[str, tuple[str, JSON]] = {}
        self._data_version = self._read_data_version()
        self._seen_stamp = self._max_stamp()
        self.generation = 0

    def _add_stamps(self) -> None:
        """A file written before `objects.stamp` existed gets the column (0 everywhere: nothing cached yet)."""
        columns = {str(row[1]) for row in self._conn.execute("PRAGMA table_info(objects)")}
        if "stamp" not in columns:
            self._conn.execute("ALTER TABLE objects ADD COLUMN stamp INTEGER NOT NULL DEFAULT 0")
        self._conn.execute("CREATE INDEX IF NOT EXISTS objects_stamp ON objects(stamp)")

    def _max_stamp(self) -> int:
        return int(self._conn.execute("SELECT COALESCE(MAX(stamp), 0) FROM objects").fetchone()[0])

    def _read_data_version(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def refresh(self) -> None:
        """Drop the cached documents another connection wrote since the last look (if it committed at all)."""
        version = self._read_data_version()
        if version != self._data_version:
            written = self._conn.execute(
                "SELECT id, stamp FROM objects WHERE stamp > ?", (self._seen_stamp,)
            ).fetchall()
            for object_id, stamp in written:
                self._docs.pop(str(object_id), None)
                self._seen_stamp = max(self._seen_stamp, int(stamp))
            self._data_version = version
            self.generation += 1

    def close(self) -> None:
        self._conn.close()

    def commit(self) -> None:
        self._conn.commit()
        self._data_version = self._read_data_version()

    def rollback(self) -> None:
        self._conn.rollback()
        self._docs.clear()
        self.generation += 1

    # --- meta ----------------------------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))
        self.generation += 1

    # --- objects -------------------------------------------------------------------------------------------
    def get(self, object_id: str) -> tuple[str, JSON] | None:
        """(kind, document) of one object, or None."""
        cached = self._docs.get(object_id)
        if cached is not None:
            return cached
        row = self._conn.execute("SELECT kind, doc FROM objects WHERE id = ?", (object_id,)).fetchone()
        if row is None:
            return None
        found = (str(row[0]), json.loads(row[1]))
        self._docs[object_id] = found
        return found

    def insert(self, object_id: str, kind: str, parent_id: str | None, doc: JSON) -> None:
        self._conn.execute(
            # the next stamp is read under the write lock (SQLite runs one writer at a time): never repeated
            "INSERT INTO objects(id, kind, parent_id, doc, stamp)"
            " VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(stamp), 0) + 1 FROM objects))",
            (object_id, kind, parent_id, _dumps(doc)),
        )
        self._docs[object_id] = (kind, doc)
        self.generation += 1

    def update(self, object_id: str, doc: JSON) -> None:
        self._conn.execute(
            "UPDATE objects SET doc = ?, stamp = (SELECT COALESCE(MAX(stamp), 0) + 1 FROM objects) WHERE id = ?",
            (_dumps(doc), object_id),
        )
        self.generation += 1
        cached = self._docs.get(object_id)
        if cached is not None:
            self._docs[object_id] = (cached[0], doc)

    def by_parent(self, parent_id: str, kind: str) -> list[JSON]:
        """Documents of one kind under one parent, in creation order (the rows of a data source)."""
        ids = [
            str(row[0])
            for row in self._conn.execute(
                "SELECT id FROM objects WHERE parent_id = ? AND kind = ? ORDER BY seq", (parent_id, kind)
            )
        ]
        if any(object_id not in self._docs for object_id in ids):
            for object_id, doc in self._conn.execute(
                "SELECT id, doc FROM objects WHERE parent_id = ? AND kind = ?", (parent_id, kind)
            ):
                if object_id not in self._docs:
                    self._docs[object_id] = (kind, json.loads(doc))
        return [self._docs[object_id][1] for object_id in ids]

    def of_kind(self, kind: str) -> list[JSON]:
        rows = self._conn.execute("SELECT doc FROM objects WHERE kind = ? ORDER BY seq", (kind,)).fetchall()
        return [json.loads(row[0]) for row in rows]

    # --- children order ------------------------------------------------------------------------------------
    def children(self, parent_id: str) -> list[str]:
        row = self._conn.execute("SELECT ids FROM children WHERE parent_id = ?", (parent_id,)).fetchone()
        return [] if row is None else list(json.loads(row[0]))

    def set_children(self, parent_id: str, ids: list[str]) -> None:
        self._conn.execute(
            "INSERT OR REPLACE INTO children(parent_id, ids) VALUES (?, ?)", (parent_id, json.dumps(ids))
        )
        self.generation += 1


def _dumps(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
