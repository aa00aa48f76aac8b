"""Trends per grooming cycle: volume now vs before, new themes, spikes (>= 2x and >= 3), by source and segment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scoring.themes import Theme, ThemeItem
from scoring.trends import Cycle, dimension_trends, is_spike, rising_lines, theme_trends

START = datetime(2026, 11, 2, tzinfo=UTC)
BEFORE = Cycle(START - timedelta(days=14), START)
NOW = Cycle(START, START + timedelta(days=14))


def seen(item_id: str, days: int, source: str = "Zendesk", segment: str = "Enterprise") -> ThemeItem:
    return ThemeItem(item_id, frozenset(), source=source, segment=segment, first_seen=START + timedelta(days=days))


ITEMS = [
    seen("b1", -10),
    seen("b2", 1, "Gong"),
    seen("b3", 2),
    seen("b4", 3, "Gong", "SMB"),  # barge-in: 1 -> 3, a spike
    seen("s1", 4),
    seen("s2", 5),
    seen("s3", 6, "G2", "SMB"),  # spanish: new, 3 this cycle
    seen("l1", -12),
    seen("l2", -3),
    seen("l3", 7),  # latency: 2 -> 1, falling
    seen("o1", -40),
    seen("o2", 8),  # old: 0 -> 1 but seen long ago: not new, not a spike
]
THEMES = [
    Theme("t-barge", "barge-in / playback", ("b1", "b2", "b3", "b4")),
    Theme("t-spanish", "spanish / voice", ("s1", "s2", "s3")),
    Theme("t-latency", "latency", ("l1", "l2", "l3")),
    Theme("t-old", "old", ("o1", "o2")),
]


def test_spike_needs_twice_the_volume_and_three_items() -> None:
    assert is_spike(3, 1)
    assert is_spike(3, 0)
    assert not is_spike(2, 0)  # too few to be news
    assert not is_spike(5, 3)  # not twice
    assert is_spike(6, 3)


def test_theme_trends_compare_the_two_cycles_and_flag_new_themes_and_spikes() -> None:
    trends = {t.key: t for t in theme_trends(THEMES, ITEMS, NOW, BEFORE)}

    barge = trends["t-barge"]
    assert (barge.now, barge.before, barge.spike, barge.new) == (3, 1, True, False)
    assert barge.by_source == (("Gong", 2), ("Zendesk", 1))
    assert barge.by_segment == (("Enterprise", 2), ("SMB", 1))
    spanish = trends["t-spanish"]
    assert (spanish.now, spanish.before, spanish.new, spanish.spike) == (3, 0, True, True)
    assert (trends["t-latency"].now, trends["t-latency"].before) == (1, 2)
    assert not trends["t-old"].new
    assert [t.key for t in theme_trends(THEMES, ITEMS, NOW, BEFORE)][:2] == ["t-spanish", "t-barge"]  # +3, +2


def test_trends_by_source_and_segment() -> None:
    by_source = {t.key: t for t in dimension_trends(ITEMS, NOW, BEFORE, lambda r: r.source)}
    assert (by_source["Gong"].now, by_source["Gong"].before, by_source["Gong"].new) == (2, 0, True)
    assert (by_source["Zendesk"].now, by_source["Zendesk"].before) == (5, 3)
    assert not by_source["Zendesk"].spike
    by_segment = {t.key: t for t in dimension_trends(ITEMS, NOW, BEFORE, lambda r: r.segment)}
    assert (by_segment["SMB"].now, by_segment["SMB"].new) == (2, True)


def test_whats_rising_lists_spikes_and_new_themes_and_nothing_that_fell() -> None:
    lines = rising_lines(theme_trends(THEMES, ITEMS, NOW, BEFORE))

    assert lines == [
        "spanish / voice: 3 this cycle (new this cycle) — Zendesk 2, G2 1; Enterprise 2, SMB 1",
        "barge-in / playback: 3 this cycle (was 1) — spike — Gong 2, Zendesk 1; Enterprise 2, SMB 1",
    ]
    assert rising_lines([]) == []
    assert rising_lines(theme_trends(THEMES, ITEMS, NOW, BEFORE), labels={"t-barge": "Barge-in"})[1].startswith(
        "Barge-in: 3"
    )
