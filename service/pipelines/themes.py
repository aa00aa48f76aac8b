"""The grooming step `backlog themes`: duplicate links for rows that have none, then themes stored in Notion.

Themes are computed by `scoring/themes.py` from the candidates' meaning, given the previous assignment read back
from Notion (members by the Theme relation, names as the PM left them, items the PM moved), so they are stable
across runs. Trends per theme (`scoring/trends.py`) compare the sprint-long cycle ending at the newest feedback
with the one before. Only what changed is written: a re-run with nothing new makes no write.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from scoring.similarity import content_terms
from scoring.themes import PreviousThemes, Theme, ThemeItem, assign_themes, group_by_meaning, theme_stats
from scoring.trends import Cycle, Trend, theme_trends
from service.embedding import Embedder, feedback_text
from service.logging import get_logger
from service.notion import NotionGateway, Row
from service.notion.themes import ThemeRow, ThemeStore, join_ids, split_ids
from service.pipelines.dedupe import NOTE_PROPERTY, link_backlog, shared_embedder

log = get_logger(__name__)

# Not grouped: nothing left to decide. Merged rows stay: each is one more voice for the ask (its theme's volume).
CLOSED = frozenset({"Won't do", "Done"})


@dataclass
class ThemesReport:
    themes: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    moved_rows: int = 0
    links: int = 0
    trends: list[str] = field(default_factory=list)
    url: str = ""
    notion_writes: int = 0


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    return None


def _text(value: Any) -> str:
    return str(value or "")


def theme_item(row: Row) -> ThemeItem:
    get = row.values.get
    return ThemeItem(
        id=row.page_id,
        terms=frozenset(content_terms(feedback_text(_text(get("Name")), _text(get("Excerpt"))))),
        customer=_text(get("Customer")),
        segment=_text(get("Segment")),
        source=_text(get("Source")),
        votes=float(get("Votes") or 0),
        first_seen=_when(get("First Seen")),
        last_seen=_when(get("Last Seen")),
    )


def cycles(items: Sequence[ThemeItem], sprint_weeks: float) -> tuple[Cycle, Cycle]:
    """This cycle (one sprint long, ending the day after the newest First Seen) and the one before."""
    seen = [i.first_seen for i in items if i.first_seen]
    end = (max(seen) if seen else datetime(1970, 1, 1, tzinfo=UTC)).replace(hour=0, minute=0, second=0, microsecond=0)
    end += timedelta(days=1)
    length = timedelta(days=max(1, round(sprint_weeks * 7)))
    return Cycle(end - length, end), Cycle(end - 2 * length, end - length)


def previous_themes(rows: Sequence[ThemeRow], live: Mapping[str, str]) -> PreviousThemes:
    """The assignment as the PM left it. `live`: candidate -> theme page of its Theme relation now. An item is
    moved (pinned) when its theme is one the service did not put it in, or the PM pinned it there before."""
    known = {r.page_id: r for r in rows}
    members: dict[str, set[str]] = {r.page_id: set() for r in rows}
    moved: dict[str, str] = {}
    for item, theme_id in live.items():
        if theme_id not in known:
            continue
        members[theme_id].add(item)
        values = known[theme_id].values
        if item in split_ids(values.get("Pinned")) or item not in split_ids(values.get("Member Ids")):
            moved[item] = theme_id
    names = {r.page_id: _text(r.values.get("Name")).strip() for r in rows if _text(r.values.get("Name")).strip()}
    return PreviousThemes({k: frozenset(v) for k, v in members.items()}, names, moved)


def _trend_text(trend: Trend | None) -> str:
    if trend is None or (trend.now == 0 and trend.before == 0):
        return "quiet: nothing new in the last two cycles"
    if trend.new:
        return f"new this cycle: {trend.now}"
    tag = " — spike" if trend.spike else ""
    return f"{trend.now} this cycle (was {trend.before}){tag}"


def theme_values(
    theme: Theme, items: Sequence[ThemeItem], titles: Mapping[str, str], trend: Trend | None, pinned: set[str]
) -> dict[str, Any]:
    """What the theme's row should hold (Name only for a new theme: afterwards it is the PM's)."""
    stats = theme_stats(theme, items)
    asks = "; ".join(titles.get(m, "") for m in theme.members[:3])
    return {
        "Name": theme.name,
        "Description": f"{stats.members} asks, e.g. {asks}"[:400],
        "Members": stats.members,
        "Customers": stats.customers,
        "Segments": ", ".join(stats.segments),
        "Sources": ", ".join(stats.sources),
        "Votes": stats.votes,
        "First Seen": stats.first_seen.date().isoformat() if stats.first_seen else None,
        "Last Seen": stats.last_seen.date().isoformat() if stats.last_seen else None,
        "Trend": _trend_text(trend),
        "Member Ids": join_ids(set(theme.members)),
        "Pinned": join_ids(pinned & set(theme.members)),
    }


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, date):
        old = old.isoformat()[:10]
    if isinstance(old, int | float) and isinstance(new, int | float):
        return float(old) == float(new)
    return (old or None) == (new or None)


def changed_values(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in wanted.items() if k != "Name" and not _same(current.get(k), v)}


def _link_duplicates(gateway: NotionGateway, rows: Sequence[Row], embedder: Callable[[], Embedder | None]) -> int:
    """The grooming pass: a Possible Duplicate for rows that have none (never over a PM's link, never merging)."""
    ordered = sorted(rows, key=lambda r: r.created_time)
    found = link_backlog([(r.page_id, _text(r.get("Name")), _text(r.get("Excerpt"))) for r in ordered], embedder)
    has_note = NOTE_PROPERTY in gateway.property_types()
    links = 0
    for row in ordered:
        matches = found.get(row.page_id)
        if not matches or row.get("Possible Duplicate") or row.get("Merged Into") or row.get("Status") == "Merged":
            continue
        values: dict[str, Any] = {"Possible Duplicate": (matches[0].page_id,)}
        if has_note:
            values[NOTE_PROPERTY] = matches[0].note
        gateway.update_properties(row.page_id, values, what=f"linking a possible duplicate of {row.page_id}")
        links += 1
    return links


def _compute(rows: Sequence[Row], theme_rows: Sequence[ThemeRow], embedder: Embedder) -> tuple[list[Theme], Any]:
    items = [theme_item(r) for r in rows]
    vectors = embedder.embed([feedback_text(_text(r.get("Name")), _text(r.get("Excerpt"))) for r in rows])
    groups = [[items[i].id for i in group] for group in group_by_meaning(vectors)] if len(rows) > 1 else []
    live = {r.page_id: str(r.get("Theme")[0]) for r in rows if r.get("Theme")}
    previous = previous_themes(theme_rows, live)
    return assign_themes(groups, items, previous), (items, live, previous)


def run_themes(
    gateway: NotionGateway,
    *,
    sprint_weeks: float = 2,
    embedder: Callable[[], Embedder | None] = shared_embedder,
    link: bool = True,
) -> ThemesReport:
    """Link duplicates, then compute and store themes; writes only rows and themes whose values changed."""
    store = gateway.themes()
    report = ThemesReport(url=store.ensure().url)
    writes_before = gateway.calls.writes
    rows = [r for r in store.candidates() if _text(r.get("Status")) not in CLOSED]
    if link:
        report.links = _link_duplicates(gateway, rows, embedder)
    model = embedder()
    if model is None or not rows:
        log.warning("themes.skipped", reason="no embedding model" if model is None else "no open candidates")
        return report
    theme_rows = store.theme_rows()
    themes, (items, live, previous) = _compute(rows, theme_rows, model)
    current, before = cycles(items, sprint_weeks)
    rising = theme_trends(themes, items, current, before)  # most rising first
    trends = {t.key: t for t in rising}
    titles = {r.page_id: _text(r.get("Name")) for r in rows}
    _store(store, report, themes, theme_rows, (items, titles, trends, set(previous.moved)), live)
    report.themes = len(themes)
    report.trends = [f"{t.name}: {_trend_text(t)}" for t in rising]
    report.notion_writes = gateway.calls.writes - writes_before
    log.info("themes.done", themes=report.themes, created=len(report.created), updated=len(report.updated))
    return report


def _store(
    store: ThemeStore,
    report: ThemesReport,
    themes: Sequence[Theme],
    theme_rows: Sequence[ThemeRow],
    context: tuple[Sequence[ThemeItem], Mapping[str, str], Mapping[str, Trend], set[str]],
    live: Mapping[str, str],
) -> None:
    items, titles, trends, pinned = context
    existing = {r.page_id: r for r in theme_rows}
    for theme in themes:
        wanted = theme_values(theme, items, titles, trends.get(theme.id), pinned)
        page_id = theme.id
        if page_id in existing:
            changes = changed_values(existing[page_id].values, wanted)
            if changes:
                store.update_theme(page_id, changes)
                report.updated.append(theme.name)
        else:
            page_id = store.create_theme(wanted)
            report.created.append(theme.name)
        for member in theme.members:
            if live.get(member) != page_id:
                store.set_theme(member, page_id)
                report.moved_rows += 1
