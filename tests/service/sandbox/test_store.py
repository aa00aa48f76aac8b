"""The sandbox's document store when two processes share one file (the served sandbox and a PM's edits)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from service.sandbox.store import Store


def _seeded(path: Path, count: int) -> None:
    store = Store(path)
    for number in range(count):
        store.insert(f"p{number}", "page", "ds", {"id": f"p{number}", "n": number})
    store.commit()
    store.close()


def test_a_foreign_commit_drops_only_the_documents_it_wrote(tmp_path: Path) -> None:
    path = tmp_path / "box.sqlite3"
    _seeded(path, 50)
    served, editor = Store(path), Store(path)
    before = {doc["id"]: doc for doc in served.by_parent("ds", "page")}
    generation = served.generation

    found = editor.get("p7")
    assert found is not None
    editor.update("p7", {**found[1], "n": 700})
    editor.insert("p50", "page", "ds", {"id": "p50", "n": 50})
    editor.commit()

    served.refresh()
    after = {doc["id"]: doc for doc in served.by_parent("ds", "page")}
    assert after["p7"]["n"] == 700
    assert after["p50"]["n"] == 50
    assert served.generation > generation  # ordered query results derived before are stale
    untouched = [key for key in before if key != "p7"]
    # the documents nobody wrote are the very objects parsed before: not read and parsed again
    assert all(after[key] is before[key] for key in untouched)
    assert after["p7"] is not before["p7"]


def test_the_store_sees_every_foreign_write_across_several_commits(tmp_path: Path) -> None:
    path = tmp_path / "box.sqlite3"
    _seeded(path, 5)
    served, editor = Store(path), Store(path)
    served.by_parent("ds", "page")
    for value in range(3):  # a refresh between each commit, then two commits with none between
        editor.update("p1", {"id": "p1", "n": value})
        editor.commit()
        served.refresh()
        assert served.get("p1") == ("page", {"id": "p1", "n": value})
    editor.update("p2", {"id": "p2", "n": 20})
    editor.commit()
    editor.update("p3", {"id": "p3", "n": 30})
    editor.commit()
    served.refresh()
    assert [doc["n"] for doc in served.by_parent("ds", "page")] == [0, 2, 20, 30, 4]


def test_a_file_written_before_stamps_existed_opens_and_tracks_changes(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE objects (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
                              parent_id TEXT, doc TEXT NOT NULL);
        INSERT INTO objects(id, kind, parent_id, doc) VALUES ('p0', 'page', 'ds', '{"id": "p0", "n": 0}');
        """
    )
    conn.commit()
    conn.close()
    served, editor = Store(path), Store(path)
    assert served.get("p0") == ("page", {"id": "p0", "n": 0})
    editor.update("p0", {"id": "p0", "n": 1})
    editor.commit()
    served.refresh()
    assert served.get("p0") == ("page", {"id": "p0", "n": 1})
