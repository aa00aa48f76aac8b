"""`backlog report --sprint N`: plan the sprint (pure planner) and write it where the PM works.

Writes, idempotently:
- the page "Sprint N — <start> to <end>" under the parent page: capacity math, the seed's sprint table (each item
  linked to its row), the stakeholder summary, risks and zombies, and a leadership-only toggle. Re-running for
  the same sprint finds the page by its "Sprint N —" title prefix and rewrites its content only when the content
  changed (a fingerprint is kept in the page's first block), so a re-run with nothing new writes nothing. The
  page and its block texts come through the page cache (one retrieve when nothing changed, docs/sprint-page.md);
  before a rewrite the page is always listed, and a cached text that turns out stale is replaced by what the
  page holds (an escalation logged by another process survives);
- planned rows: Sprint = N, Status = Planned, where they differ; nothing else on the backlog.

Ranks, tensions, trade-offs and "sprints waiting" (zombies) are computed here, at report time, from what each row
stores once (First Seen, the day it was added, the Sprint it was last planned into) and the sprint calendar
(`capacity.sprint_weeks`, this sprint's start): nothing is counted up on every row every sprint, so a report
writes its planned rows and its page, and a re-run with no edits writes nothing. See docs/priority.md.

This module is the use case (read -> plan -> write -> ReportResult); the page's blocks and fingerprint come from
the pure `sprint_page.render_sprint_page`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from scoring import changes
from scoring.audiences import StoryLines, audience_markdown
from scoring.capacity import sprint_days
from scoring.models import Candidate
from scoring.planner import SprintPlan, plan_sprint
from scoring.policy import Policy
from scoring.score import ScoreResult, is_closed, score_backlog
from scoring.similarity import content_terms, idf_weights
from scoring.themes import ThemeItem, assign_themes, group_by_meaning
from scoring.trends import Cycle, dimension_trends, rising_lines, theme_trends
from service.embedding import Embedder, EmbeddingUnavailableError, feedback_text
from service.logging import get_logger
from service.notion import NotionError, NotionGateway, Row
from service.notion.page_cache import PageView
from service.notion.pages import block_text
from service.pipelines.mapping import row_to_candidate
from service.pipelines.sprint_page import (
    ESCALATION_HEADING,
    FINGERPRINT_PREFIX,
    NO_ESCALATIONS,
    PageStory,
    SprintPage,
    dump_state,
    load_state,
    render_sprint_page,
)

log = get_logger(__name__)


@dataclass
class ReportResult:
    """What one run did: the plan, its Markdown for the terminal, the page written and the rows written."""

    plan: SprintPlan
    markdown: str
    page_id: str | None
    page_url: str | None
    page_action: str  # created | updated | unchanged
    rows_written: int
    notion_calls: int
    failed: list[tuple[str, str]]

    @property
    def planned(self) -> int:
        return len(self.plan.items)

    @property
    def planned_effort(self) -> float:
        return self.plan.planned_effort

    @property
    def plan_limit(self) -> float:
        return self.plan.plan_limit

    def log_fields(self) -> dict[str, object]:
        """What `report.done` logs: the page and the plan's size, never row content."""
        return {
            "page": self.page_action,
            "page_id": self.page_id,
            "planned": self.planned,
            "planned_effort": self.planned_effort,
            "plan_limit": self.plan_limit,
            "rows_written": self.rows_written,
            "notion_calls": self.notion_calls,
        }


# ------------------------------------------------------------------------------------------ the pipeline
def _prefix(sprint: int) -> str:
    """The title prefix a sprint's page is found by."""
    return f"Sprint {sprint} —"


def _page_fingerprint(texts: Sequence[str], page: SprintPage) -> str | None:
    """The fingerprint the page's header callout carries (None for a page this service did not write, or whose
    blocks below the header are not the ones fingerprinted: a doubled or half-written page is rewritten)."""
    if texts and FINGERPRINT_PREFIX in texts[0] and list(texts[1:]) == [block_text(block) for block in page.blocks]:
        return texts[0].split(FINGERPRINT_PREFIX, 1)[1].rstrip(")").strip()
    return None


def row_updates(plan: SprintPlan, rows: dict[str, Row]) -> dict[str, dict[str, Any]]:
    """Per planned page, the report-owned values to write (only what differs from Notion); no other row."""
    updates: dict[str, dict[str, Any]] = {}
    for page_id in plan.picked_page_ids:
        row = rows.get(page_id)
        if row is None:
            continue
        want: dict[str, Any] = {}
        if row.values.get("Sprint") != plan.sprint and str(row.values.get("Sprint")) != str(plan.sprint):
            want["Sprint"] = plan.sprint
        if row.values.get("Status") != "Planned":
            want["Status"] = "Planned"
        if want:
            updates[page_id] = want
    return updates


def report_candidate(row: Row) -> Candidate:
    """The planner's view of a row: the scorer's, plus the day it was added (waiting since, without First Seen)."""
    return row_to_candidate(row).model_copy(update={"added": row.created_time.date()})


@dataclass(frozen=True)
class Planned:
    """The plan with what it was made from (the story sections compare and group these)."""

    plan: SprintPlan
    candidates: list[Candidate]
    scores: dict[str, ScoreResult]


def _plan(rows: Iterable[Row], policy: Policy, sprint: int, start: date) -> Planned:
    candidates = [report_candidate(row) for row in rows]
    scores = score_backlog(candidates, policy)
    return Planned(plan_sprint(candidates, scores, policy, sprint, start), candidates, scores)


def settled_plan(
    rows: dict[str, Row], policy: Policy, sprint: int, start: date
) -> tuple[Planned, dict[str, dict[str, Any]]]:
    """The plan as the backlog will be once this report's own row writes landed, and those writes.

    The page shows the planned rows as Planned already, so re-running finds the same content and writes nothing.
    """
    first = _plan(rows.values(), policy, sprint, start)
    updates = row_updates(first.plan, rows)
    if not updates:  # a re-run: the backlog is already as this report leaves it (2.6 s of planning at 10,000 rows)
        return first, updates
    after = [replace(row, values={**row.values, **updates.get(pid, {})}) for pid, row in rows.items()]
    return _plan(after, policy, sprint, start), updates


# ------------------------------------------------------------------------------------------ the story sections
_EMBEDDER: list[Embedder | None] = []  # loaded once per process, on the first report that needs it


def _embedder() -> Embedder | None:
    if not _EMBEDDER:
        try:
            _EMBEDDER.append(Embedder.load())
        except EmbeddingUnavailableError as exc:
            log.warning("report.embedding_unavailable", error=str(exc), fallback="lexical")
            _EMBEDDER.append(None)
    return _EMBEDDER[0]


def _lexical_vectors(items: Sequence[ThemeItem]) -> npt.NDArray[np.float32]:
    """Idf-weighted bags of content words: themes by shared words when the model cannot load."""
    idf = idf_weights([item.terms for item in items])
    column = {term: i for i, term in enumerate(sorted(idf))}
    vectors = np.zeros((len(items), max(len(column), 1)), dtype=np.float32)
    for row, item in enumerate(items):
        for term in item.terms:
            vectors[row, column[term]] = idf[term]
    return vectors


def _theme_items(candidates: Sequence[Candidate]) -> tuple[list[ThemeItem], list[str]]:
    open_ = [c for c in candidates if not is_closed(c) and not c.merged_into]
    items = [
        ThemeItem(
            c.page_id,
            content_terms(f"{c.name} {c.excerpt}"),
            customer=c.customer or "",
            segment=c.segment or "",
            source=c.source or "",
            votes=float(c.votes or 0),
            first_seen=_when(c.first_seen or c.added),
            last_seen=_when(c.last_seen),
        )
        for c in open_
    ]
    return items, [feedback_text(c.name, c.excerpt) for c in open_]


def _when(day: date | None) -> datetime | None:
    return None if day is None else datetime(day.year, day.month, day.day, tzinfo=UTC)


def _rising(planned: Planned, policy: Policy) -> tuple[list[str], list[str]]:
    """What's rising (spikes, new themes, by source and segment) and the theme names, over the open candidates."""
    items, texts = _theme_items(planned.candidates)
    if len(items) < 2:
        return [], []
    embedder = _embedder()
    vectors = embedder.embed(texts) if embedder is not None else _lexical_vectors(items)
    themes = assign_themes([[items[i].id for i in g] for g in group_by_meaning(vectors)], items)
    length = timedelta(days=sprint_days(policy.capacity))
    start = datetime(planned.plan.start.year, planned.plan.start.month, planned.plan.start.day, tzinfo=UTC)
    current, previous = Cycle(start - length, start), Cycle(start - 2 * length, start - length)
    lines = rising_lines(theme_trends(themes, items, current, previous), limit=5)
    for label, key in (("source", lambda r: r.source), ("segment", lambda r: r.segment)):
        spikes = [t for t in dimension_trends(items, current, previous, key) if t.spike]
        lines += [f"{label.title()} {t.name}: {t.now} new this cycle (was {t.before}) — spike" for t in spikes[:2]]
    return lines, [t.name for t in themes]


def _previous_state(gateway: NotionGateway, parent: str, sprint: int) -> changes.Snapshot | None:
    """The snapshot the previous sprint's page recorded (None for the first grooming)."""
    if sprint <= 1:
        return None
    view = gateway.open_child_page(parent, _prefix(sprint - 1))
    if view is None:
        return None
    found = (load_state(text) for text in view.texts)
    return next((snap for snap in found if snap is not None), None)


def escalation_lines(texts: Sequence[str]) -> tuple[str, ...]:
    """The log lines already on a sprint page (everything after the escalation log heading)."""
    if ESCALATION_HEADING not in texts:
        return ()
    after = texts[list(texts).index(ESCALATION_HEADING) + 1 :]
    return tuple(t for t in after if t.strip() and t != NO_ESCALATIONS)


def _story(gateway: NotionGateway, planned: Planned, policy: Policy) -> PageStory:
    """What the page tells besides the plan (the escalation log is added from the page's own texts)."""
    rising, themes = _rising(planned, policy)
    now = changes.take_snapshot(planned.plan, planned.candidates, planned.scores, themes)
    before = _previous_state(gateway, gateway.parent_page_id(), planned.plan.sprint)
    lines = StoryLines(tuple(rising), tuple(changes.compare(before, now, planned.candidates)))
    return PageStory(lines, dump_state(now))


@dataclass(frozen=True)
class _PageWrite:
    page_id: str | None
    url: str | None
    action: str  # created | updated | unchanged


@dataclass(frozen=True)
class _PageInput:
    """What the page is rendered from: the plan, the story, how many rows were read."""

    planned: Planned
    policy: Policy
    story: PageStory
    candidates: int

    def render(self, texts: Sequence[str]) -> SprintPage:
        """The page, keeping the escalation log lines that `texts` (the page as it is) hold."""
        story = replace(self.story, escalations=escalation_lines(texts))
        return render_sprint_page(self.planned.plan, self.policy, candidates=self.candidates, story=story)


def _write_page(gateway: NotionGateway, made: _PageInput, view: PageView | None, *, dry_run: bool) -> _PageWrite:
    """Create the sprint's page, or rewrite its content only when the fingerprint says it changed. Before a
    rewrite the page is listed (its texts may have come from the cache); the page is rendered from what it holds."""
    page = made.render(view.texts if view else ())
    if view is None:
        if dry_run:
            return _PageWrite(None, None, "created")
        prefix = _prefix(made.planned.plan.sprint)
        new_id, url = gateway.create_child_page(gateway.parent_page_id(), prefix, page.title, page.content, icon="🗓️")
        return _PageWrite(new_id, url, "created")
    url = view.url or gateway.page_url(view.page_id)
    if _page_fingerprint(view.texts, page) == page.fingerprint:
        return _PageWrite(view.page_id, url, "unchanged")
    listed = gateway.relist_page(view)
    if listed.texts != view.texts:  # the cached texts were stale: render from the page as it is
        page = made.render(listed.texts)
        if _page_fingerprint(listed.texts, page) == page.fingerprint:
            return _PageWrite(view.page_id, url, "unchanged")
    if not dry_run:
        gateway.rewrite_page(listed, page.content)
    return _PageWrite(view.page_id, url, "updated")


def _write_rows(
    gateway: NotionGateway, rows: dict[str, Row], updates: dict[str, dict[str, Any]], sprint: int, *, dry_run: bool
) -> tuple[int, list[tuple[str, str]]]:
    """Write each row's report-owned values; a failed row is reported and the others still written."""
    if dry_run:
        return len(updates), []  # what a real run would write
    written = 0
    failed: list[tuple[str, str]] = []
    for pid, values in updates.items():
        name = rows[pid].values.get("Name") or pid
        try:
            gateway.update_properties(pid, values, what=f"marking {name!r} for sprint {sprint}")
            written += 1
        except NotionError as exc:
            failed.append((pid, str(exc)))
            log.error("report.row_failed", page_id=pid, name=name, error=str(exc))
    return written, failed


def run_report(
    gateway: NotionGateway,
    policy: Policy,
    *,
    sprint: int,
    start: date,
    dry_run: bool = False,
    audience: str = "engineering",
    given: Mapping[str, Row] | None = None,
) -> ReportResult:
    """Read the backlog (or take `given`, rows `run` read already), plan the sprint (pure), write the page and
    the rows, and say what was done."""
    calls_before = gateway.calls.total
    rows = dict(given) if given is not None else gateway.read_rows().rows  # incremental: docs/cost.md
    planned, updates = settled_plan(rows, policy, sprint, start)
    plan = planned.plan
    view = gateway.open_child_page(gateway.parent_page_id(), _prefix(sprint))
    story = _story(gateway, planned, policy)
    wrote = _write_page(gateway, _PageInput(planned, policy, story, len(rows)), view, dry_run=dry_run)
    written, failed = _write_rows(gateway, rows, updates, sprint, dry_run=dry_run)
    result = ReportResult(
        plan=plan,
        markdown=audience_markdown(plan, policy, audience, story.lines),
        page_id=wrote.page_id,
        page_url=wrote.url,
        page_action=wrote.action,
        rows_written=written,
        notion_calls=gateway.calls.total - calls_before,
        failed=failed,
    )
    log.info("report.done", sprint=sprint, **result.log_fields(), dry_run=dry_run)
    return result
