"""`backlog themes` on the sandbox with the demo's two cycles: themes stable across runs (new members join, a PM's
rename and move stick), nothing written on a re-run, trends with a spike and a new theme, the grooming pass's
links, and the Duplicate Note sync writes on a reworded duplicate."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scoring.themes import ThemeItem
from service.notion import NotionGateway, Row
from service.notion.themes import ThemeRow, split_ids
from service.pipelines.dedupe import NOTE_PROPERTY
from service.pipelines.demo import export_overrides
from service.pipelines.sync import run_sync
from service.pipelines.themes import cycles, previous_themes, run_themes
from service.policy_file import load_policy
from service.settings import Settings
from tests.fakes.sandbox_helpers import DEMO_CONFIG, sandbox_gateway, sandbox_settings

CYCLE2 = Path(__file__).resolve().parents[3] / "deploy" / "demo" / "cycle2"
POLICY = load_policy(DEMO_CONFIG, explicit=True)


@dataclass
class Demo:
    settings: Settings
    gateway: NotionGateway

    def sync_cycle2(self) -> None:
        run_sync(self.settings.model_copy(update=export_overrides(CYCLE2)), self.gateway, POLICY)

    def themes(self) -> dict[str, ThemeRow]:
        return {r.page_id: r for r in self.gateway.themes().theme_rows()}

    def candidates(self) -> dict[str, Row]:
        return {r.page_id: r for r in self.gateway.themes().candidates()}


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    settings = sandbox_settings(tmp_path)
    with sandbox_gateway(settings) as gateway:
        run_sync(settings, gateway, POLICY)
        yield Demo(settings, gateway)


def _theme_of(row: Row) -> str | None:
    theme = row.get("Theme")
    return str(theme[0]) if theme else None


def test_first_run_stores_themes_and_a_rerun_writes_nothing(demo: Demo) -> None:
    first = run_themes(demo.gateway)
    themes = demo.themes()

    assert first.themes == len(themes) >= 5
    assert first.created
    members = {m for t in themes.values() for m in split_ids(t.values["Member Ids"])}
    rows = demo.candidates()
    assert all(_theme_of(rows[m]) in themes for m in members)  # each member's Theme names its theme page
    for theme in themes.values():
        assert theme.values["Members"] == len(split_ids(theme.values["Member Ids"]))
        assert theme.values["Trend"]
        assert theme.values["Sources"]

    writes = demo.gateway.calls.writes
    again = run_themes(demo.gateway)
    assert demo.gateway.calls.writes == writes
    assert again.notion_writes == 0
    assert not again.created
    assert not again.updated
    assert again.moved_rows == 0


def test_new_members_join_and_a_pm_rename_and_move_stick(demo: Demo) -> None:
    run_themes(demo.gateway)
    store, before = demo.gateway.themes(), demo.themes()
    big = sorted(before.values(), key=lambda t: -len(split_ids(t.values["Member Ids"])))
    renamed, source, target = big[0], big[1], big[2]
    store.update_theme(renamed.page_id, {"Name": "Compliance paperwork (PM's name)"})
    moved = sorted(split_ids(source.values["Member Ids"]))[0]
    store.set_theme(moved, target.page_id)  # the PM moves one item to another theme

    demo.sync_cycle2()
    report = run_themes(demo.gateway)
    after, rows = demo.themes(), demo.candidates()

    assert set(before) <= set(after)  # every theme keeps its page
    assert after[renamed.page_id].values["Name"] == "Compliance paperwork (PM's name)"
    assert _theme_of(rows[moved]) == target.page_id
    assert moved in split_ids(after[target.page_id].values["Pinned"])
    grown = [p for p in before if split_ids(after[p].values["Member Ids"]) > split_ids(before[p].values["Member Ids"])]
    assert grown or report.created  # cycle 2's rows joined themes (or formed new ones)
    joined = [r for r in rows.values() if str(r.get("Source Key")).startswith("zendesk:356") and _theme_of(r)]
    assert len(joined) >= 5

    run_themes(demo.gateway)  # and the move still sticks on the run after
    assert _theme_of(demo.candidates()[moved]) == target.page_id
    assert demo.themes()[renamed.page_id].values["Name"] == "Compliance paperwork (PM's name)"


def test_second_cycle_shows_a_spike_and_a_new_theme(demo: Demo) -> None:
    run_themes(demo.gateway)
    demo.sync_cycle2()
    run_themes(demo.gateway)
    trends = [str(t.values["Trend"]) for t in demo.themes().values()]

    assert any(t.endswith("spike") for t in trends)
    assert any(t.startswith("new this cycle") for t in trends)


def test_sync_writes_the_duplicate_note_on_a_reworded_duplicate(demo: Demo) -> None:
    demo.sync_cycle2()
    rows = demo.gateway.find_by_source_keys(["zendesk:35602", "zendesk:35436"])
    reworded, original = rows["zendesk:35602"], rows["zendesk:35436"]  # "Long silence before the agent speaks"

    assert list(reworded.values["Possible Duplicate"]) == [original.page_id]
    assert "by meaning" in str(reworded.values[NOTE_PROPERTY])


def test_grooming_links_rows_without_a_link_and_keeps_the_pms(demo: Demo) -> None:
    rows = list(demo.gateway.iter_rows())
    linked = [r for r in rows if r.get("Possible Duplicate")]
    pm_choice = linked[0]
    demo.gateway.update_properties(pm_choice.page_id, {"Possible Duplicate": (rows[0].page_id,)})
    report = run_themes(demo.gateway)
    after = {r.page_id: r for r in demo.gateway.iter_rows()}

    assert report.links > 0
    assert list(after[pm_choice.page_id].values["Possible Duplicate"]) == [rows[0].page_id]
    for row in linked:  # links set before are never overwritten
        assert after[row.page_id].values["Possible Duplicate"]
    merged_before = {r.page_id for r in rows if r.get("Merged Into")}
    assert {p for p, r in after.items() if r.get("Merged Into")} == merged_before  # never merges


def test_a_pm_move_is_told_from_the_services_own_assignment() -> None:
    rows = [ThemeRow("t1", {"Name": "A", "Member Ids": "x,y"}), ThemeRow("t2", {"Name": "B", "Pinned": "z"})]
    previous = previous_themes(rows, {"x": "t1", "y": "t2", "z": "t2", "w": "gone"})

    assert previous.moved == {"y": "t2", "z": "t2"}  # y moved by the PM, z pinned before; w's theme is unknown
    assert previous.members == {"t1": frozenset({"x"}), "t2": frozenset({"y", "z"})}
    assert previous.names == {"t1": "A", "t2": "B"}


def test_cycles_are_sprint_long_and_end_after_the_newest_feedback() -> None:
    items = [ThemeItem("a", frozenset(), first_seen=datetime(2026, 12, 1, 15, tzinfo=UTC))]
    current, before = cycles(items, 2)

    assert current.start == datetime(2026, 11, 18, tzinfo=UTC)
    assert current.end == datetime(2026, 12, 2, tzinfo=UTC)
    assert before.end == current.start
    assert before.start == datetime(2026, 11, 4, tzinfo=UTC)
