"""`backlog score`: read the candidates (incrementally: the row cache plus what was edited since, docs/cost.md),
score each row (pure), write only the rows that changed.

What is written is RICE, Priority and Score Note, and only where they differ from what Notion already says, so a
second run with no edits makes zero writes. Each of them depends on its row and the rows merged into it alone
(`scoring.score.score_rows`), so one PM edit writes that row, plus the row it is merged into when the edit
changed that row's evidence: nothing else. Rank is not written any more (a view sorted by Priority is the
ranking; an adopted database's Rank property is left as it is), see docs/priority.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from scoring.models import Candidate
from scoring.policy import Policy
from scoring.priority import same_priority
from scoring.score import ScoreResult, score_rows
from service.logging import get_logger
from service.notion import NotionError, NotionGateway, Row
from service.pipelines.mapping import row_to_candidate

log = get_logger(__name__)

RICE_DECIMALS = 2
SCORER_PROPERTIES = ("RICE", "Priority", "Score Note")
INACTIVE = frozenset({"Merged", "Done", "Won't do"})  # not scored by design; their evidence counts elsewhere


@dataclass
class ScoreReport:
    read: int = 0
    written: int = 0
    unchanged: int = 0
    unscored: int = 0  # rows the scorer could not score (invalid or missing inputs, named in Score Note)
    failed: list[tuple[str, str]] = field(default_factory=list)
    notion_calls: int = 0
    notion_writes: int = 0
    duration_s: float = 0.0
    changes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (page name, new values)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def wanted_values(result: ScoreResult) -> dict[str, Any]:
    """What the scorer owns on a row, as plain values."""
    rice = round(result.rice, RICE_DECIMALS) if result.rice is not None else None
    return {"RICE": rice, "Priority": result.priority, "Score Note": result.note}


def current_values(candidate: Candidate, row: Row | None = None) -> dict[str, Any]:
    """What Notion holds of those (Priority from the row itself: `Candidate` carries no stored Priority)."""
    rice = round(candidate.rice, RICE_DECIMALS) if candidate.rice is not None else None
    priority = row.values.get("Priority") if row is not None else None
    return {"RICE": rice, "Priority": priority, "Score Note": candidate.score_note}


def _same(name: str, have: Any, want: Any) -> bool:
    if name == "Priority":
        return same_priority(have, want)
    return have == want or (want in (None, "") and have in (None, ""))


def diff(candidate: Candidate, result: ScoreResult, row: Row | None = None) -> dict[str, Any]:
    """Only the properties whose value would change."""
    want, have = wanted_values(result), current_values(candidate, row)
    return {name: value for name, value in want.items() if not _same(name, have.get(name), value)}


def run_score(
    gateway: NotionGateway,
    policy: Policy,
    *,
    page_id: str | None = None,
    dry_run: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    rows: Mapping[str, Row] | None = None,
    full: bool = False,
) -> ScoreReport:
    """Score the backlog. `page_id` re-reads that page first (a webhook's page may be newer than the query) and
    scores only what its edit can change (`_family_of`);
    `rows` are rows read already this process (`run` hands sync's over), else they are read incrementally
    (every row on `full`)."""
    started = time.monotonic()
    calls_before, writes_before = gateway.calls.total, gateway.calls.writes
    report = ScoreReport()
    rows = _read_rows(gateway, page_id, rows, full=full)
    report.read = len(rows)
    scored, heads = _family_of(rows, page_id) if page_id is not None else (rows, None)
    todo = _without_missing(gateway, _changes(scored, report, policy, only=heads), report)
    _write_changes(gateway, todo, report, dry_run=dry_run, on_progress=on_progress)
    report.notion_calls = gateway.calls.total - calls_before
    report.notion_writes = gateway.calls.writes - writes_before
    report.duration_s = time.monotonic() - started
    log.info(
        "score.done",
        read=report.read,
        written=report.written,
        unchanged=report.unchanged,
        unscored=report.unscored,
        failed=len(report.failed),
        notion_calls=report.notion_calls,
        notion_writes=report.notion_writes,
        duration_s=round(report.duration_s, 2),
        dry_run=dry_run,
    )
    return report


def _read_rows(
    gateway: NotionGateway, page_id: str | None, given: Mapping[str, Row] | None, *, full: bool
) -> dict[str, Row]:
    rows = dict(given) if given is not None else gateway.read_rows(full=full).rows
    if page_id is not None:
        fresh = gateway.get_row(page_id)
        rows[fresh.page_id] = fresh
    return rows


def _merged_into(row: Row) -> tuple[str, ...]:
    return tuple(str(target) for target in row.values.get("Merged Into") or ())


def _family_of(rows: dict[str, Row], page_id: str) -> tuple[dict[str, Row], set[str]]:
    """What one page's edit can change (scores are row-local): the page and the rows it is merged into,
    transitively (`heads`, the only rows written), with every row merged into those (their evidence). A webhook
    rescore scores these, not the backlog: its time follows the family, not N."""
    heads: set[str] = set()
    walk = [page_id]
    while walk:
        current = walk.pop()
        if current in heads or current not in rows:
            continue
        heads.add(current)
        walk.extend(_merged_into(rows[current]))
    children: dict[str, list[str]] = {}
    for pid, row in rows.items():
        for target in _merged_into(row):
            children.setdefault(target, []).append(pid)
    family: set[str] = set()
    walk = list(heads)
    while walk:
        current = walk.pop()
        if current in family:
            continue
        family.add(current)
        walk.extend(children.get(current, ()))
    return {pid: rows[pid] for pid in rows if pid in family}, heads


def _changes(
    rows: dict[str, Row], report: ScoreReport, policy: Policy, *, only: set[str] | None = None
) -> list[tuple[Candidate, dict[str, Any]]]:
    """The rows whose scorer-owned values differ from Notion's, with only those values; counts the rest.
    `only`: the rows that may be written (a webhook's page and what it is merged into)."""
    candidates = [row_to_candidate(row) for row in rows.values()]
    results = score_rows(candidates, policy)
    todo: list[tuple[Candidate, dict[str, Any]]] = []
    for candidate in candidates:
        result = results.get(candidate.page_id)
        if result is None or (only is not None and candidate.page_id not in only):
            continue
        if result.rice is None and result.triage is None and (candidate.status or "") not in INACTIVE:
            report.unscored += 1
        changes = diff(candidate, result, rows[candidate.page_id])
        if changes:
            todo.append((candidate, changes))
        else:
            report.unchanged += 1
    return todo


def _without_missing(
    gateway: NotionGateway, todo: list[tuple[Candidate, dict[str, Any]]], report: ScoreReport
) -> list[tuple[Candidate, dict[str, Any]]]:
    """Leave out a scorer property the database lacks (one created by an older version): one problem, not N."""
    types = gateway.property_types()
    missing = [name for name in SCORER_PROPERTIES if name not in types]
    for name in missing:
        message = f"property {name!r} does not exist in the database: run `backlog init` to add it (docs/priority.md)"
        report.failed.append((name, message))
        log.error("score.property_missing", property=name)
    if not missing:
        return todo
    kept = [(c, {k: v for k, v in changes.items() if k not in missing}) for c, changes in todo]
    return [(c, changes) for c, changes in kept if changes]


def _write_changes(
    gateway: NotionGateway,
    todo: list[tuple[Candidate, dict[str, Any]]],
    report: ScoreReport,
    *,
    dry_run: bool,
    on_progress: Callable[[int, int], None] | None,
) -> None:
    """One write per changed row; a row Notion refuses is reported and the others are still written."""
    for index, (candidate, changes) in enumerate(todo, start=1):
        report.changes.append((candidate.name, changes))
        if not dry_run:
            try:
                gateway.update_properties(candidate.page_id, changes, what=f"scoring {candidate.name!r}")
            except NotionError as exc:
                report.failed.append((candidate.page_id, str(exc)))
                log.error("score.write_failed", page_id=candidate.page_id, name=candidate.name, error=str(exc))
                continue
        report.written += 1
        if on_progress:
            on_progress(index, len(todo))
