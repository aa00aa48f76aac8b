"""The `backlog-themes` store: found or created once under the parent page, the candidates' Theme relation
pointing at it, theme rows and memberships read back, and no call for nothing to write."""

from __future__ import annotations

from pathlib import Path

from service.notion.themes import THEME_PROPERTIES, THEMES_TITLE, join_ids, split_ids
from tests.fakes.faults import FaultyNotion
from tests.service.notion.support import add_row, full_database, seed_rows, setup_gateway


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


def test_candidates_come_through_the_row_cache_and_a_rerun_reads_only_what_changed(
    notion: FaultyNotion, tmp_path: Path
) -> None:
    full_database(notion)
    with setup_gateway(notion, backlog_cache_dir=tmp_path / "cache") as gateway:
        keys = seed_rows(gateway, 250)  # three query pages when read whole
        store = gateway.themes()
        theme = store.create_theme({"Name": "barge-in"})
        store.set_theme(keys["zendesk:7"], theme)
        first = {r.page_id: r for r in store.candidates()}
        before = gateway.calls.by_endpoint().get("data_sources.query", 0)
        again = {r.page_id: r for r in gateway.themes().candidates()}
        queries = gateway.calls.by_endpoint().get("data_sources.query", 0) - before

    assert len(first) == len(again) == 250
    assert again[keys["zendesk:7"]].values["Theme"] == (theme,)  # its own write, from the write's answer
    assert queries == 1  # the incremental read: nothing changed, not the 3 pages of the whole database


def test_rows_cached_before_the_theme_relation_was_known_are_read_again_whole(
    notion: FaultyNotion, tmp_path: Path
) -> None:
    """Another host adds the Theme relation and assigns a row: this host's cached rows lack the property, so the
    first read that asks for it is a full one (an incremental read would skip the integration's own edits)."""
    full_database(notion)
    with setup_gateway(notion, backlog_cache_dir=tmp_path / "here") as here:
        keys = seed_rows(here, 120)
        here.read_rows()  # cached without any Theme
        with setup_gateway(notion, backlog_cache_dir=tmp_path / "there") as there:
            store = there.themes()
            theme = store.create_theme({"Name": "latency"})
            store.set_theme(keys["zendesk:3"], theme)
        rows = {r.page_id: r for r in here.themes().candidates()}  # learns the relation, then reads

    assert rows[keys["zendesk:3"]].values["Theme"] == (theme,)
    assert len(rows) == 120
