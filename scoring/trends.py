"""Trends per grooming cycle: volume this cycle vs the previous one, new themes, spikes, by source and segment.

Pure: the cycles' dates are given (the service knows the sprint calendar; scoring has no clock). An item counts
in the cycle its First Seen falls in. A spike is at least SPIKE_RATIO times the previous cycle and at least
SPIKE_MIN items, so 1 -> 2 is not news but 0 -> 3 is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from scoring.themes import Theme, ThemeItem

SPIKE_RATIO = 2.0
SPIKE_MIN = 3


@dataclass(frozen=True)
class Cycle:
    """One grooming cycle: [start, end)."""

    start: datetime
    end: datetime

    def holds(self, when: datetime | None) -> bool:
        return when is not None and self.start <= when < self.end


def is_spike(now: int, before: int) -> bool:
    return now >= SPIKE_MIN and now >= SPIKE_RATIO * before


@dataclass(frozen=True)
class Trend:
    """One theme (or one source / segment) across two cycles."""

    key: str
    name: str
    now: int
    before: int
    new: bool  # nothing of it was seen before this cycle
    by_source: tuple[tuple[str, int], ...] = ()
    by_segment: tuple[tuple[str, int], ...] = ()

    @property
    def spike(self) -> bool:
        return is_spike(self.now, self.before)

    @property
    def change(self) -> int:
        return self.now - self.before


def _counts(rows: Sequence[ThemeItem], key: Callable[[ThemeItem], str]) -> tuple[tuple[str, int], ...]:
    counts = Counter(key(r) or "Unknown" for r in rows)
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def theme_trends(themes: Sequence[Theme], items: Sequence[ThemeItem], current: Cycle, previous: Cycle) -> list[Trend]:
    """Per theme: items first seen this cycle vs the previous one, whether the theme is new, where the new
    volume comes from. Most rising first."""
    by_id = {item.id: item for item in items}
    trends = []
    for theme in themes:
        rows = [by_id[i] for i in theme.members if i in by_id]
        now = [r for r in rows if current.holds(r.first_seen)]
        before = sum(previous.holds(r.first_seen) for r in rows)
        earlier = any(r.first_seen is not None and r.first_seen < current.start for r in rows)
        trends.append(
            Trend(
                theme.id,
                theme.name,
                len(now),
                before,
                new=bool(now) and not earlier,
                by_source=_counts(now, lambda r: r.source),
                by_segment=_counts(now, lambda r: r.segment),
            )
        )
    return sorted(trends, key=lambda t: (-t.spike, -t.change, -t.now, t.key))


def dimension_trends(
    items: Sequence[ThemeItem], current: Cycle, previous: Cycle, key: Callable[[ThemeItem], str]
) -> list[Trend]:
    """The same comparison per source or per segment (`key`), for the whole backlog."""
    now = Counter(key(r) or "Unknown" for r in items if current.holds(r.first_seen))
    before = Counter(key(r) or "Unknown" for r in items if previous.holds(r.first_seen))
    earlier = {key(r) or "Unknown" for r in items if r.first_seen is not None and r.first_seen < current.start}
    trends = [Trend(k, k, now[k], before[k], new=now[k] > 0 and k not in earlier) for k in set(now) | set(before)]
    return sorted(trends, key=lambda t: (-t.spike, -t.change, t.key))


def _breakdown(pairs: tuple[tuple[str, int], ...], limit: int = 3) -> str:
    return ", ".join(f"{k} {v}" for k, v in pairs[:limit])


def rising_lines(trends: Sequence[Trend], limit: int = 5, labels: Mapping[str, str] | None = None) -> list[str]:
    """The sprint page's "What's rising": spikes and new themes first, then the largest increases; nothing
    when nothing rose."""
    lines = []
    for t in [t for t in trends if t.change > 0 and (t.spike or t.new or t.change >= 2)][:limit]:
        was = "new this cycle" if t.new else f"was {t.before}"
        tag = " — spike" if t.spike and not t.new else ""
        where = "; ".join(x for x in (_breakdown(t.by_source), _breakdown(t.by_segment)) if x)
        name = (labels or {}).get(t.key, t.name)
        lines.append(f"{name}: {t.now} this cycle ({was}){tag}" + (f" — {where}" if where else ""))
    return lines
