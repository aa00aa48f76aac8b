"""The `backlog-themes` store: found or created once under the parent page, the candidates' Theme relation
pointing at it, theme rows and memberships read back, and no call for nothing to write."""

from __future__ import annotations

from service.notion.themes import THEME_PROPERTIES, THEMES_TITLE, join_ids, split_ids
from tests.fakes.faults import FaultyNotion
from tests.service.notion.support import add_row, full_database, setup_gateway


def test_ensure_creates_the_database_once_and_a_new_gateway_finds_it(notion: FaultyNotion) -> None:
    _db, candidates = full_database(notion)
    with setup_gateway(notion) as gateway:
        first = gateway.themes().ensure()
        assert gateway.themes().ensure() == first
    with setup_gateway(notion) as gateway:
        assert gateway.themes().ensure().data_source_id == first.data_source_id  # found, not created again

    themes = notion.api("GET", f"data_sources/{first.data_source_id}")
    assert set(themes["properties"]) == set(THEME_PROPERTIES)
    relation = notion.api("GET", f"data_sources/{candidates}")["properties"]["Theme"]
    assert relation["type"] == "relation"
    assert relation["relation"]["data_source_id"] == first.data_source_id
    assert first.title == THEMES_TITLE


def test_theme_rows_and_memberships_read_back(notion: FaultyNotion) -> None:
    _db, candidates = full_database(notion)
    row = add_row(notion, candidates, "zendesk:1", Name="Barge-in is not detected")
    with setup_gateway(notion) as gateway:
        store = gateway.themes()
        theme = store.create_theme({"Name": "barge-in", "Members": 1, "Member Ids": join_ids({row})})
        store.set_theme(row, theme)
    with setup_gateway(notion) as gateway:
        store = gateway.themes()
        (stored,) = store.theme_rows()
        (candidate,) = store.candidates()

    assert stored.page_id == theme
    assert stored.values["Name"] == "barge-in"
    assert split_ids(stored.values["Member Ids"]) == {row}
    assert candidate.values["Theme"] == (theme,)
    assert candidate.values["Name"] == "Barge-in is not detected"


def test_nothing_to_write_makes_no_call(notion: FaultyNotion) -> None:
    full_database(notion)
    with setup_gateway(notion) as gateway:
        gateway.themes().ensure()
        writes = gateway.calls.writes
        gateway.themes().update_theme("any-page", {})
        assert gateway.calls.writes == writes


def test_ids_round_trip_sorted_and_blank_safe() -> None:
    assert join_ids({"b", "a"}) == "a,b"
    assert split_ids(" a, ,b ") == {"a", "b"}
    assert split_ids(None) == frozenset()
