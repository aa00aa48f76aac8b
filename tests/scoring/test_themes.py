"""Themes: mutual-neighbour groups, readable names, and the stability the PM relies on across runs."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from scoring.similarity import content_terms
from scoring.themes import (
    PreviousThemes,
    Theme,
    ThemeItem,
    assign_themes,
    document_frequency,
    group_by_meaning,
    theme_name,
    theme_stats,
)

DAY = datetime(2026, 11, 2, tzinfo=UTC)


def item(item_id: str, text: str, **extra: object) -> ThemeItem:
    return ThemeItem(item_id, content_terms(text), **extra)  # type: ignore[arg-type]


BARGE = [
    item("b1", "barge-in does not stop playback"),
    item("b2", "agent keeps talking, barge-in ignored"),
    item("b3", "barge-in playback continues"),
]
SPANISH = [item("s1", "spanish voices for the ivr"), item("s2", "more spanish voices")]
ITEMS = BARGE + SPANISH + [item("x1", "dark mode")]


def vectors() -> np.ndarray:
    rng = np.random.default_rng(5)
    centres = np.eye(8) * 3
    rows = [centres[0] + rng.normal(scale=0.3, size=8) for _ in range(3)]
    rows += [centres[1] + rng.normal(scale=0.3, size=8) for _ in range(2)]
    rows += [centres[5]]
    return np.array(rows)


def test_groups_are_mutual_neighbours_above_the_floor_and_loners_stay_out() -> None:
    groups = group_by_meaning(vectors(), neighbours=3, min_cosine=0.5)
    assert groups == [[0, 1, 2], [3, 4]]
    assert group_by_meaning(vectors(), neighbours=3, min_cosine=1.01) == []


def test_a_theme_is_named_by_the_words_its_members_share() -> None:
    assert theme_name(BARGE, ITEMS) == "barge-in / playback"
    assert theme_name(SPANISH, ITEMS) == "spanish / voice"
    assert theme_name([item("z", "")]) == "(unnamed)"


def test_first_run_gives_deterministic_ids_and_names() -> None:
    groups = [["b1", "b2", "b3"], ["s1", "s2"]]
    first, again = assign_themes(groups, ITEMS), assign_themes(groups, ITEMS)
    assert first == again
    assert [t.name for t in first] == ["barge-in / playback", "spanish / voice"]
    assert first[0].id.startswith("theme-")


def previous_of(themes: list[Theme], **names: str) -> PreviousThemes:
    return PreviousThemes(
        members={t.id: frozenset(t.members) for t in themes},
        names={t.id: names.get(t.id, t.name) for t in themes},
    )


def test_an_existing_theme_keeps_its_id_and_name_when_new_members_join() -> None:
    first = assign_themes([["b1", "b2"]], ITEMS)
    joined = assign_themes([["b1", "b2", "b3", "x1"]], ITEMS, previous_of(first))
    assert [(t.id, t.name) for t in joined] == [(first[0].id, first[0].name)]
    assert joined[0].members == ("b1", "b2", "b3", "x1")


def test_a_pm_rename_sticks() -> None:
    first = assign_themes([["b1", "b2", "b3"]], ITEMS)
    renamed = previous_of(first, **{first[0].id: "Barge-in / interruptions"})
    second = assign_themes([["b1", "b2", "b3"]], ITEMS, renamed)
    assert second[0].name == "Barge-in / interruptions"


def test_a_pm_move_sticks_even_when_the_clustering_disagrees() -> None:
    first = assign_themes([["b1", "b2", "b3"], ["s1", "s2"]], ITEMS)
    barge, spanish = first
    moved = PreviousThemes(
        members={barge.id: frozenset({"b1", "b2"}), spanish.id: frozenset({"s1", "s2", "b3"})},
        names={barge.id: barge.name, spanish.id: spanish.name},
        moved={"b3": spanish.id},
    )
    second = {t.id: t.members for t in assign_themes([["b1", "b2", "b3"], ["s1", "s2"]], ITEMS, moved)}
    assert second == {barge.id: ("b1", "b2"), spanish.id: ("b3", "s1", "s2")}


def test_an_item_the_clustering_no_longer_places_stays_in_its_theme_and_a_new_group_gets_a_new_id() -> None:
    first = assign_themes([["b1", "b2", "b3"]], ITEMS)
    second = assign_themes([["b1", "b2"], ["s1", "s2"]], ITEMS, previous_of(first))
    by_id = {t.id: t for t in second}
    assert by_id[first[0].id].members == ("b1", "b2", "b3")
    assert len(second) == 2
    assert next(t for t in second if t.id != first[0].id).members == ("s1", "s2")


def test_stats_count_customers_segments_sources_votes_and_dates() -> None:
    rows = [
        item("a", "x", customer="Acme", segment="Enterprise", source="Zendesk", votes=3, first_seen=DAY),
        item("b", "x", customer="Acme", segment="Enterprise", source="Gong", votes=1, first_seen=DAY, last_seen=DAY),
        item("c", "x", customer="Beta", segment="SMB", source="Zendesk", first_seen=DAY.replace(day=9)),
    ]
    stats = theme_stats(Theme("t", "x", ("a", "b", "c")), rows)
    assert (stats.members, stats.customers, stats.votes) == (3, 2, 4.0)
    assert stats.segments == ("Enterprise", "SMB")
    assert stats.sources == ("Gong", "Zendesk")
    assert (stats.first_seen, stats.last_seen) == (DAY, DAY.replace(day=9))


def test_a_run_counts_document_frequency_once_for_every_theme_name() -> None:
    frequency = document_frequency(ITEMS)
    assert frequency[1] == len(ITEMS)
    for members in (BARGE, SPANISH, ITEMS[:1]):
        assert theme_name(members, ITEMS, frequency=frequency) == theme_name(members, ITEMS)
