"""Healing duplicate Source Keys into the oldest row: PM values carried over, relations moved, copies trashed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.notion import NotionGateway
from service.pipelines.heal import find_groups, heal
from tests.fakes.faults import FaultyNotion
from tests.service.notion.support import T0, TOKEN, add_row, full_database, make_gateway, rows_of

PAGE = r"pages/[0-9a-f-]+"


@pytest.fixture
def notion(tmp_path: Path) -> Iterator[FaultyNotion]:
    world = FaultyNotion.open(tmp_path / "notion.sqlite3", token=TOKEN, start=T0)
    yield world
    world.close()


def gateway_on(notion: FaultyNotion) -> tuple[NotionGateway, str]:
    database_id, data_source_id = full_database(notion)
    return make_gateway(notion, [], notion_database_id=database_id), data_source_id


def live(notion: FaultyNotion, data_source_id: str) -> dict[str, dict[str, object]]:
    return {str(page["id"]): page["properties"] for page in rows_of(notion, data_source_id)}


def test_newer_copy_is_trashed_and_its_pm_values_land_on_the_oldest(notion: FaultyNotion) -> None:
    gateway, data_source_id = gateway_on(notion)
    kept = add_row(notion, data_source_id, "zendesk:1", Name="Latency", Status="New", Reach="5")
    newer = add_row(notion, data_source_id, "zendesk:1", Name="Latency", Status="Triaged", Reach="1", Effort="M")
    other = add_row(notion, data_source_id, "zendesk:2", Name="Other")

    rows, report = heal(gateway, list(gateway.iter_rows()))

    assert set(live(notion, data_source_id)) == {kept, other}  # the newer copy is gone from queries
    assert report.trashed == [newer]
    [row] = [r for r in rows if r.page_id == kept]
    assert row.values["Status"] == "Triaged"  # "New" is sync's default: the PM's choice on the copy wins
    assert row.values["Effort"] == "M"  # set only on the newer copy: carried over
    assert row.values["Reach"] == "5"  # set on both: the oldest's value is kept
    fresh = gateway.get_row(kept)
    assert (fresh.values["Status"], fresh.values["Effort"], fresh.values["Reach"]) == ("Triaged", "M", "5")
    assert [r.page_id for r in rows] == [kept, other]
    assert "zendesk:1" in report.merged[0]
    assert "Effort" in report.merged[0]
    trash = [b for b in notion.transport.bodies("PATCH", PAGE) if b.get("in_trash")]
    assert trash == [{"in_trash": True}]  # the field 2025-09-03 and 2026-03-11 both take


def test_relations_pointing_at_the_newer_copy_move_to_the_oldest(notion: FaultyNotion) -> None:
    gateway, data_source_id = gateway_on(notion)
    kept = add_row(notion, data_source_id, "github:acme/x#1", Name="Barge-in")
    newer = add_row(notion, data_source_id, "github:acme/x#1", Name="Barge-in", **{"Possible Duplicate": (kept,)})
    third = add_row(notion, data_source_id, "g2:7", Name="Interrupts", **{"Merged Into": (newer,)})
    fourth = add_row(notion, data_source_id, "g2:8", Name="Cut off", **{"Possible Duplicate": (newer, third)})

    heal(gateway, list(gateway.iter_rows()))

    assert gateway.get_row(third).values["Merged Into"] == (kept,)
    assert gateway.get_row(fourth).values["Possible Duplicate"] == (kept, third)
    assert newer not in live(notion, data_source_id)
    assert gateway.get_row(kept).values.get("Possible Duplicate") in (None, ())  # never a link to itself


def test_three_copies_merge_into_the_oldest_whatever_order_they_are_read_in(notion: FaultyNotion) -> None:
    gateway, data_source_id = gateway_on(notion)
    first = add_row(notion, data_source_id, "gong:9", Name="Call")
    add_row(notion, data_source_id, "gong:9", Name="Call", Severity="P1")
    add_row(notion, data_source_id, "gong:9", Name="Call", Severity="P0", OKR=["O2"])
    rows = list(gateway.iter_rows())

    [group] = find_groups(reversed(rows))
    assert group.kept.page_id == first
    assert gateway.find_by_source_keys(["gong:9"])["gong:9"].page_id == first  # the gateway agrees

    heal(gateway, rows)

    assert list(live(notion, data_source_id)) == [first]
    values = gateway.get_row(first).values
    assert values["Severity"] == "P1"  # the oldest of the copies that set it
    assert values["OKR"] == ("O2",)


def test_dry_run_reports_the_merge_and_writes_nothing(notion: FaultyNotion) -> None:
    gateway, data_source_id = gateway_on(notion)
    kept = add_row(notion, data_source_id, "zendesk:1", Name="Latency")
    add_row(notion, data_source_id, "zendesk:1", Name="Latency", Effort="S")
    writes = gateway.calls.writes

    rows, report = heal(gateway, list(gateway.iter_rows()), dry_run=True)

    assert gateway.calls.writes == writes
    assert len(live(notion, data_source_id)) == 2
    assert [r.page_id for r in rows] == [kept]
    assert len(report.merged) == 1
    assert "would merge" in report.merged[0]
    assert report.trashed == []


def test_no_duplicates_costs_no_call(notion: FaultyNotion) -> None:
    gateway, data_source_id = gateway_on(notion)
    add_row(notion, data_source_id, "zendesk:1", Name="Latency")
    rows = list(gateway.iter_rows())
    calls = gateway.calls.total

    kept, report = heal(gateway, rows)

    assert kept == rows
    assert gateway.calls.total == calls
    assert report.lines == []
