"""Reading and upserting rows through the gateway, against the sandbox behind the fault transport."""

from __future__ import annotations

from datetime import timedelta

from service.notion.codecs import encode_property
from service.notion.rows import RECHECK_WAITS_S
from service.notion.schema import SYNC_OWNED
from tests.fakes.faults import FaultyNotion, lost_answer, refused, timeout
from tests.service.notion.support import (
    T0,
    add_row,
    full_database,
    iso_minute,
    make_gateway,
    rows_of,
    setup_gateway,
    write_for,
)

QUERY = r"data_sources/.*/query"

# --- creates that may have happened --------------------------------------------------------------------------


def test_5xx_on_create_does_not_duplicate(notion: FaultyNotion, sleeps: list[float]) -> None:
    database_id, data_source_id = full_database(notion)
    notion.transport.fail("POST", "pages", lost_answer(502))  # Notion created the page, then answered 502
    gateway = make_gateway(notion, sleeps, notion_database_id=database_id)
    result = gateway.upsert([write_for("github:acme/x#1")], existing={})
    rows = rows_of(notion, data_source_id)
    assert len(rows) == 1
    assert result.created == [("github:acme/x#1", rows[0]["id"])]
    assert notion.transport.count("POST", "pages") == 1  # never sent again
    last_query = notion.transport.bodies("POST", QUERY)[-1]
    assert last_query["filter"] == {"or": [{"property": "Source Key", "rich_text": {"equals": "github:acme/x#1"}}]}


def test_timeout_on_create_checks_then_resends(notion: FaultyNotion, sleeps: list[float]) -> None:
    database_id, data_source_id = full_database(notion)
    gateway = make_gateway(notion, sleeps, notion_database_id=database_id)
    notion.transport.fail("POST", "pages", timeout())  # never reached Notion
    result = gateway.upsert([write_for("zendesk:9")], existing={})
    assert len(result.created) == 1
    assert len(rows_of(notion, data_source_id)) == 1
    assert gateway.calls.by_endpoint()["pages.create"] == 2  # timeout (not applied), lookups found nothing, resent
    # Asked again with growing waits before resending: a fresh page may be invisible to queries for a while.
    assert gateway.calls.by_endpoint()["data_sources.query"] == 1 + len(RECHECK_WAITS_S)
    assert set(RECHECK_WAITS_S) <= set(sleeps)


def test_timeout_after_the_create_landed_is_recovered(notion: FaultyNotion, sleeps: list[float]) -> None:
    database_id, data_source_id = full_database(notion)
    gateway = make_gateway(notion, sleeps, notion_database_id=database_id)
    notion.transport.fail("POST", "pages", timeout(applied=True))
    result = gateway.upsert([write_for("zendesk:9")], existing={})
    [row] = rows_of(notion, data_source_id)
    assert result.created == [("zendesk:9", row["id"])]
    assert gateway.calls.by_endpoint()["pages.create"] == 1


# --- reading rows --------------------------------------------------------------------------------------------


def test_iter_rows_follows_cursors(notion: FaultyNotion, sleeps: list[float]) -> None:
    database_id, data_source_id = full_database(notion)
    notion.transport.page_size = 2
    ids = [add_row(notion, data_source_id, f"zendesk:{i}", Votes=i) for i in range(5)]
    gateway = make_gateway(notion, sleeps, notion_database_id=database_id)
    rows = list(gateway.iter_rows())
    assert [r.page_id for r in rows] == ids
    assert [r.get("Votes") for r in rows] == [0, 1, 2, 3, 4]
    assert rows[0].source_key == "zendesk:0"
    assert rows[0].last_edited_by == notion.sandbox.bot_user_id
    assert gateway.calls.by_endpoint()["data_sources.query"] == 3
    cursors = [b.get("start_cursor") for b in notion.transport.bodies("POST", QUERY)]
    assert cursors == [None, ids[2], ids[4]]  # the sandbox's cursor is the next page's first id


def test_iter_rows_windows_past_the_query_cap(notion: FaultyNotion, sleeps: list[float]) -> None:
    database_id, data_source_id = full_database(notion)
    notion.sandbox.query_result_limit = 5  # stands in for Notion's 10,000
    same_minute = T0 + timedelta(hours=1)
    times = [T0 + timedelta(minutes=i) for i in range(4)] + [same_minute, same_minute] + [T0 + timedelta(hours=2)]
    ids = [add_row(notion, data_source_id, f"k:{i}", created=t) for i, t in enumerate(times)]
    gateway = make_gateway(notion, sleeps, notion_database_id=database_id)
    rows = list(gateway.iter_rows())
    assert sorted(r.page_id for r in rows) == sorted(ids)  # all 7, none twice
    queries = notion.transport.bodies("POST", QUERY)
    assert len(queries) == 2
    on_or_after = iso_minute(same_minute)
    assert queries[1]["filter"] == {"timestamp": "created_time", "created_time": {"on_or_after": on_or_after}}
    assert queries[1]["sorts"] == [{"timestamp": "created_time", "direction": "ascending"}]


def test_relation_with_more_than_25_ids_is_read_in_full(notion: FaultyNotion, sleeps: list[float]) -> None:
    database_id, data_source_id = full_database(notion)
    related = [add_row(notion, data_source_id, f"zendesk:{i}") for i in range(30)]
    page_id = add_row(notion, data_source_id, "zendesk:main")
    notion.api(
        "PATCH", f"pages/{page_id}", {"properties": {"Possible Duplicate": encode_property("relation", related)}}
    )
    gateway = make_gateway(notion, sleeps, notion_database_id=database_id)
    row = gateway.get_row(page_id)
    assert row.values["Possible Duplicate"] == tuple(related)  # the page object shows 25 and has_more
    assert gateway.calls.by_endpoint()["pages.properties.retrieve"] == 1


# --- upsert --------------------------------------------------------------------------------------------------


def test_upsert_looks_up_250_keys_in_3_queries(notion: FaultyNotion, sleeps: list[float]) -> None:
    database_id, data_source_id = full_database(notion)
    gateway = make_gateway(notion, sleeps, notion_database_id=database_id)
    writes = [write_for(f"zendesk:{i}") for i in range(250)]
    result = gateway.upsert(writes, dry_run=True)
    assert gateway.calls.by_endpoint()["data_sources.query"] == 3
    batches = [len(b["filter"]["or"]) for b in notion.transport.bodies("POST", QUERY)]
    assert batches == [100, 100, 50]
    assert len(result.created) == 250
    assert gateway.calls.writes == 0
    assert rows_of(notion, data_source_id) == []


def test_upsert_creates_updates_and_skips_unchanged(notion: FaultyNotion, sleeps: list[float]) -> None:
    database_id, _ = full_database(notion)
    gateway = make_gateway(notion, sleeps, notion_database_id=database_id)
    first = gateway.upsert([write_for("zendesk:1"), write_for("zendesk:2")])
    assert [key for key, _ in first.created] == ["zendesk:1", "zendesk:2"]
    created = notion.transport.bodies("POST", "pages")[0]["properties"]
    assert created["Status"] == {"select": {"name": "New"}}
    assert created["Type"] == {"select": {"name": "Feature"}}
    assert "Content Hash" in created

    # The PM triages row 1 in Notion; then sync sees more votes on row 2 and a brand-new row 3.
    page_1 = first.created[0][1]
    notion.api("PATCH", f"pages/{page_1}", {"properties": {"Status": {"select": {"name": "Planned"}}}})
    changed = write_for("zendesk:2", Votes=5, Status="Triaged", Reach="10")  # PM-owned values must not be sent
    before = gateway.calls.snapshot()
    second = gateway.upsert([write_for("zendesk:1"), changed, write_for("zendesk:3")])
    assert second.unchanged == ["zendesk:1"]
    assert [key for key, _ in second.updated] == ["zendesk:2"]
    assert [key for key, _ in second.created] == ["zendesk:3"]
    assert gateway.calls.since(before) == {"data_sources.query": 1, "pages.update": 1, "pages.create": 1}

    update = notion.transport.bodies("PATCH", r"pages/.*")[-1]["properties"]
    assert set(update) <= SYNC_OWNED | {"Content Hash"}
    assert update["Votes"] == {"number": 5}
    assert "Status" not in update
    assert "Reach" not in update
    with setup_gateway(notion, notion_database_id=database_id) as reader:
        assert reader.get_row(page_1).get("Status") == "Planned"


def test_upsert_with_nothing_new_makes_zero_writes(notion: FaultyNotion, sleeps: list[float]) -> None:
    database_id, _ = full_database(notion)
    gateway = make_gateway(notion, sleeps, notion_database_id=database_id)
    writes = [write_for(f"g2:{i}") for i in range(3)]
    gateway.upsert(writes)
    existing = {row.source_key or "": row for row in gateway.iter_rows()}
    before = gateway.calls.writes
    result = gateway.upsert(writes, existing=existing)
    assert result.unchanged == ["g2:0", "g2:1", "g2:2"]
    assert gateway.calls.writes == before


def test_upsert_dry_run_writes_nothing_but_reports(notion: FaultyNotion, sleeps: list[float]) -> None:
    database_id, data_source_id = full_database(notion)
    add_row(notion, data_source_id, "zendesk:1", Votes=1)
    gateway = make_gateway(notion, sleeps, notion_database_id=database_id)
    progress: list[int] = []
    result = gateway.upsert([write_for("zendesk:1"), write_for("zendesk:2")], dry_run=True, on_progress=progress.append)
    assert [k for k, _ in result.updated] == ["zendesk:1"]  # no Content Hash yet: would update
    assert [k for k, _ in result.created] == ["zendesk:2"]
    assert gateway.calls.writes == 0
    assert notion.transport.count("PATCH", r"pages/.*") == notion.transport.count("POST", "pages") == 0
    assert progress == [1, 2]


def test_one_bad_row_does_not_stop_the_batch(notion: FaultyNotion, sleeps: list[float]) -> None:
    database_id, _ = full_database(notion)
    gateway = make_gateway(notion, sleeps, notion_database_id=database_id)
    notion.transport.fail("POST", "pages", refused(400, "validation_error", "Bad."))
    bad_value = write_for("zendesk:2", Votes="lots")
    result = gateway.upsert([write_for("zendesk:1"), bad_value, write_for("zendesk:3")], existing={})
    assert [k for k, _ in result.created] == ["zendesk:3"]
    failed = dict(result.failed)
    assert "creating the row zendesk:1" in failed["zendesk:1"]
    assert "Bad." in failed["zendesk:1"]
    assert "'Votes' (number)" in failed["zendesk:2"]
