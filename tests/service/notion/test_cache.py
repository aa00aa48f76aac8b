"""The row cache: what it stores comes back the same, a broken file is no cache (one full read), a failed write
never fails the run, two processes may share one file, and the gateway's incremental read keeps to its rules."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from service.notion.cache import CachedRow, RowCache, cache_path
from service.notion.errors import NotionValidationError
from tests.fakes.faults import FaultyNotion
from tests.service.notion.support import full_database, make_gateway, pm_gateway, seed_rows

T = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


def cached(page_id: str, **values: Any) -> CachedRow:
    return CachedRow(page_id, f"https://notion.test/{page_id}", T, T + timedelta(minutes=1), None, values)


def test_values_come_back_with_their_types(tmp_path: Path) -> None:
    cache = RowCache(tmp_path / "rows.sqlite3")
    values = {"Name": "SSO", "Reach": 40.5, "Tags": ("a", "b"), "Last Seen": T, "Due": date(2026, 8, 1), "X": None}
    cache.save([cached("p1", **values)], watermark=T, full_read_at=T, replace=True)

    state = cache.load()

    assert state is not None
    assert state.rows["p1"].values == values
    assert (state.watermark, state.full_read_at) == (T, T)


def test_a_missing_or_corrupt_file_is_no_cache(tmp_path: Path) -> None:
    path = tmp_path / "rows.sqlite3"
    assert RowCache(path).load() is None
    path.write_bytes(b"this is not a database" * 100)
    assert RowCache(path).load() is None


def test_a_file_without_a_full_read_is_no_cache(tmp_path: Path) -> None:
    cache = RowCache(tmp_path / "rows.sqlite3")
    cache.save([cached("p1")], watermark=T)  # e.g. only a removal was ever written
    assert cache.load() is None


def test_a_failed_write_is_logged_and_the_run_goes_on(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    cache = RowCache(blocker / "rows.sqlite3")  # its directory is a file: every write fails
    cache.save([cached("p1")], watermark=T, full_read_at=T, replace=True)  # no exception
    assert cache.load() is None


def test_removed_rows_leave_and_replace_empties_the_table(tmp_path: Path) -> None:
    cache = RowCache(tmp_path / "rows.sqlite3")
    cache.save([cached("p1"), cached("p2")], watermark=T, full_read_at=T, replace=True)
    cache.save((), removed=["p1"])
    state = cache.load()
    assert state is not None
    assert set(state.rows) == {"p2"}
    assert state.watermark == T  # a removal does not move the watermark
    cache.save([cached("p3")], watermark=T, full_read_at=T, replace=True)
    state = cache.load()
    assert state is not None
    assert set(state.rows) == {"p3"}


def test_two_writers_on_one_file_never_corrupt_it(tmp_path: Path) -> None:
    path = tmp_path / "rows.sqlite3"
    RowCache(path).save([], watermark=T, full_read_at=T, replace=True)

    def write(prefix: str) -> None:
        cache = RowCache(path)
        for n in range(30):
            cache.save([cached(f"{prefix}{n}", Name=str(n))], watermark=T + timedelta(minutes=n), full_read_at=T)

    threads = [threading.Thread(target=write, args=(p,)) for p in ("a", "b", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    state = RowCache(path).load()
    assert state is not None
    assert len(state.rows) == 90
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


# --- the gateway's incremental read ----------------------------------------------------------------------------


def test_incremental_read_returns_edits_since_the_watermark_and_the_boundary_minute(
    notion: FaultyNotion, sleeps: list[float], tmp_path: Path
) -> None:
    full_database(notion)
    cache_dir = tmp_path / "cache"
    with make_gateway(notion, sleeps, backlog_cache_dir=cache_dir) as gateway:
        seed_rows(gateway, 3)
        first = gateway.read_rows()
    assert first.full
    assert len(first.changed) == 3

    notion.clock.tick(5)
    with make_gateway(notion, sleeps, backlog_cache_dir=cache_dir) as gateway:
        quiet = gateway.read_rows()
        assert not quiet.full
        assert quiet.changed == []
        assert len(quiet.rows) == 3
        seed_rows(gateway, 1, start=3)
        edited = gateway.find_by_source_keys(["zendesk:0"])["zendesk:0"]
        gateway.update_properties(edited.page_id, {"Reach": "12"})
    with pm_gateway(notion, tmp_path) as pm:  # the PM's own edit, in Notion: only a read can learn it
        by_pm = pm.find_by_source_keys(["zendesk:1"])["zendesk:1"]
        pm.update_properties(by_pm.page_id, {"Reach": "5"})

    notion.clock.tick(5)
    watermark = stored_watermark(cache_dir)
    with make_gateway(notion, sleeps, backlog_cache_dir=cache_dir) as gateway:
        read = gateway.read_rows()
        assert {r.source_key for r in read.changed} == {"zendesk:0", "zendesk:1", "zendesk:3"}
        assert read.rows[edited.page_id].values["Reach"] == "12"  # from the write's answer
        assert read.rows[by_pm.page_id].values["Reach"] == "5"  # from the read
        assert len(read.rows) == 4
    query = notion.transport.bodies("POST", r"data_sources/[^/]+/query")[-1]
    # on_or_after the newest last_edited_time seen before (that boundary minute is read again), and only the
    # edits of someone other than this integration: its own are in the cache from their answers
    bot = notion.sandbox.bot_user_id
    assert query["filter"] == {
        "and": [
            {"timestamp": "last_edited_time", "last_edited_time": {"on_or_after": watermark}},
            {"property": "Last edited by", "last_edited_by": {"does_not_contain": bot}},
        ]
    }
    assert datetime.fromisoformat(watermark) == max(r.last_edited_time for r in first.rows.values())


def stored_watermark(cache_dir: Path) -> str:
    path = next(cache_dir.glob("rows-*.sqlite3"))
    with sqlite3.connect(path) as conn:
        return str(conn.execute("SELECT value FROM meta WHERE key = 'watermark'").fetchone()[0])


def test_full_read_on_schedule_and_on_request(notion: FaultyNotion, sleeps: list[float], tmp_path: Path) -> None:
    full_database(notion)
    cache_dir = tmp_path / "cache"
    with make_gateway(notion, sleeps, backlog_cache_dir=cache_dir) as gateway:
        seed_rows(gateway, 2)
        assert gateway.read_rows().full
        assert not gateway.read_rows().full
        assert gateway.read_rows(full=True).full
    with make_gateway(notion, sleeps, backlog_cache_dir=cache_dir, backlog_full_read_hours=1e-9) as gateway:
        assert gateway.read_rows().full  # the last full read is older than BACKLOG_FULL_READ_HOURS


def test_a_trashed_row_leaves_the_cache(notion: FaultyNotion, sleeps: list[float], tmp_path: Path) -> None:
    _, data_source_id = full_database(notion)
    cache_dir = tmp_path / "cache"
    with make_gateway(notion, sleeps, backlog_cache_dir=cache_dir) as gateway:
        seed_rows(gateway, 2)
        rows = gateway.read_rows().rows
        gone = next(iter(rows))
        gateway.trash_row(gone)
        assert gone not in (gateway.row_snapshot() or {})
    state = RowCache(cache_path(cache_dir, data_source_id)).load()
    assert state is not None
    assert gone not in state.rows
    assert len(state.rows) == 1


def test_a_cached_database_that_notion_refuses_is_found_again(
    notion: FaultyNotion, sleeps: list[float], tmp_path: Path
) -> None:
    full_database(notion)
    cache_dir = tmp_path / "cache"
    with make_gateway(notion, sleeps, backlog_cache_dir=cache_dir) as gateway:
        gateway.read_rows()
    database_file = cache_dir / "database.json"
    assert database_file.exists()
    text = database_file.read_text(encoding="utf-8")
    ref_id = text.split('"data_source_id": "')[1].split('"')[0]
    database_file.write_text(text.replace(ref_id, "00000000-0000-0000-0000-000000000000"), encoding="utf-8")

    with make_gateway(notion, sleeps, backlog_cache_dir=cache_dir) as gateway:
        read = gateway.read_rows()
        calls = gateway.calls.by_endpoint()
    assert not read.full  # the cache file of the real data source is found again (a file for the refused id: full)
    assert calls["data_sources.query"] == 2  # the refused query, then the read of the re-found one
    assert ref_id in database_file.read_text(encoding="utf-8")


@pytest.mark.parametrize("hours", [24.0])
def test_without_a_warm_cache_nothing_is_cached_for_the_database(
    notion: FaultyNotion, sleeps: list[float], tmp_path: Path, hours: float
) -> None:
    full_database(notion)
    with make_gateway(notion, sleeps, backlog_cache_dir=tmp_path / "c", backlog_full_read_hours=hours) as gateway:
        gateway.read_rows()
        first = sum(gateway.calls.by_endpoint().values())
    with make_gateway(notion, sleeps, backlog_cache_dir=tmp_path / "c") as gateway:
        gateway.read_rows()
        second = gateway.calls.by_endpoint()
    assert first > sum(second.values())
    # no search, no schema read: both came from the cache; users.me once (no own write has shown the bot's id)
    assert second == {"data_sources.query": 1, "users.me": 1}


def test_a_full_read_keeps_the_answers_of_writes_made_while_it_ran(tmp_path: Path) -> None:
    cache = RowCache(tmp_path / "rows.sqlite3")
    cache.save([cached("old", Name="old")], watermark=T, full_read_at=T, replace=True, read_started=T)
    read_started = datetime.now(UTC)  # a second process's full read begins...
    cache.save([cached("new", Name="created by a write")])  # ...a write's answer lands while it runs...
    cache.save([cached("old", Name="written by a write")])  # (the same minute as what the read will show)
    cache.save([cached("old", Name="stale: read before that write")], replace=True, read_started=read_started)
    state = cache.load()
    assert state is not None
    assert state.rows["new"].values == {"Name": "created by a write"}  # not dropped by the replace
    assert state.rows["old"].values == {"Name": "written by a write"}  # not overwritten by the older read
    assert state.recent == frozenset({"new", "old"})  # stored by writes after that read began: the next one's news


def test_rows_stored_by_writes_after_a_read_are_what_the_next_read_reports_changed(tmp_path: Path) -> None:
    cache = RowCache(tmp_path / "rows.sqlite3")
    started = datetime.now(UTC)
    cache.save([cached("p1"), cached("p2")], watermark=T, full_read_at=T, replace=True, read_started=started)
    cache.save([cached("p2", Name="a copy made by another process")])
    state = cache.load()
    assert state is not None
    assert state.recent == frozenset({"p2"})  # healing looks at it, though no read returned it


def _same_state(a: RowCache, path: Path) -> None:
    mine, fresh = a.load(), RowCache(path).load()
    assert mine is not None
    assert fresh is not None
    assert (mine.rows, mine.watermark, mine.full_read_at, mine.editors, mine.recent) == (
        fresh.rows, fresh.watermark, fresh.full_read_at, fresh.editors, fresh.recent,
    )  # fmt: skip
    assert sorted(p.token for p in mine.pending) == sorted(p.token for p in fresh.pending)


def test_the_memory_of_a_long_lived_process_always_equals_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rows.sqlite3"
    serve = RowCache(path)  # `serve`'s gateway: loads once, then applies its own saves to what it holds
    serve.save([cached("p1", Tags=("a",)), cached("p2")], watermark=T, full_read_at=T, replace=True, read_started=T)
    assert serve.load() is not None
    steps: list[Callable[[], Any]] = [
        lambda: serve.save([cached("p1", Tags=["b", "c"], When=date(2026, 8, 1))], editor="bot"),  # a write's answer
        lambda: serve.begin_write("t1", datetime.now(UTC)),
        lambda: serve.end_write("t1", datetime.now(UTC)),
        lambda: serve.save([cached("p3")], settled=["t1"]),
        lambda: serve.save([cached("p1", Tags=("stale",))], read_started=T),  # older read: not applied
        lambda: serve.save((), removed=["p2"]),
        lambda: RowCache(path).save([cached("p4", By="cron")]),  # another process commits: the memory is reread
        lambda: serve.save(
            [cached("p4", By="serve")], watermark=T + timedelta(hours=1), read_started=datetime.now(UTC)
        ),
    ]
    for step in steps:
        step()
        _same_state(serve, path)
    state = serve.load()
    assert state is not None
    assert state.rows["p1"].values == {"Tags": ("b", "c"), "When": date(2026, 8, 1)}  # as the file gives it back
    assert set(state.rows) == {"p1", "p3", "p4"}


def test_a_long_lived_process_reads_the_rows_again_only_after_another_process_committed(tmp_path: Path) -> None:
    path = tmp_path / "rows.sqlite3"
    serve = RowCache(path)
    serve.save([cached("p1")], watermark=T, full_read_at=T, replace=True, read_started=T)
    serve.load()
    statements: list[str] = []
    serve._connect().set_trace_callback(statements.append)  # watching what the file is asked
    serve.save([cached("p2")])  # its own write: applied to what it holds
    assert set(serve.load().rows) == {"p1", "p2"}  # type: ignore[union-attr]
    assert not [s for s in statements if "FROM rows" in s]  # 10,000 rows are not decoded at every webhook
    RowCache(path).save([cached("p3")])  # cron, in another process
    assert set(serve.load().rows) == {"p1", "p2", "p3"}  # type: ignore[union-attr]
    assert [s for s in statements if "FROM rows" in s]


def test_a_row_the_pm_trashed_leaves_the_cache_when_a_write_to_it_is_refused(
    notion: FaultyNotion, sleeps: list[float], tmp_path: Path
) -> None:
    """A query never returns trashed rows, so the incremental read cannot see the PM's trash; Notion's refusal
    of the next write to it can. Until then it stayed in the cache (and in plans) up to the next full read."""
    full_database(notion)
    with make_gateway(notion, sleeps, backlog_cache_dir=tmp_path / "cache") as gateway:
        keys = seed_rows(gateway, 3)
        gateway.read_rows()
        trashed = keys["zendesk:1"]
        notion.api("PATCH", f"pages/{trashed}", {"in_trash": True}, as_person=True)
        assert trashed in gateway.read_rows().rows  # not seen by the incremental read
        with pytest.raises(NotionValidationError, match="archived"):
            gateway.update_properties(trashed, {"Impact": "3"})
        assert trashed not in gateway.read_rows().rows
    with make_gateway(notion, sleeps, backlog_cache_dir=tmp_path / "cache") as gateway:
        assert set(gateway.read_rows().rows) == {keys["zendesk:0"], keys["zendesk:2"]}  # the file forgot it too
