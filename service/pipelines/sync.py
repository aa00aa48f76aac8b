"""`backlog sync`: every configured source -> Signals -> one upsert into `backlog-candidates`.

Order of work, and why:
1. Read the candidates once (100 rows a call). That one read gives the Source Key index (no per-row lookups),
   the cursors (newest Last Seen per source minus an overlap: Notion is the system of record, so a fresh
   container resumes where the last one stopped) and the titles for Possible Duplicate suggestions (dedupe.py).
2. Read the sources concurrently (threads: the work is waiting on HTTP). A source that fails is reported and the
   others go on.
3. Write sequentially through the gateway (Notion's rate limit is the ceiling, not the CPU). Unchanged rows (same
   Content Hash) cost nothing; a killed run converges on the next one because every create is keyed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import Connector
from connectors.http import SourceConfigError, SourceError
from connectors.registry import CONNECTORS
from connectors.signal import RowProblem, Signal, SourceName
from connectors.zendesk import ZendeskConnector
from scoring.policy import Policy
from service.logging import get_logger
from service.notion import NotionGateway, Row, RowWrite, UpsertResult
from service.pipelines.dedupe import DuplicateFinder, with_possible_duplicate
from service.pipelines.mapping import signal_to_write
from service.pipelines.sources import build_connector
from service.settings import Settings

log = get_logger(__name__)

Emit = Callable[[str, dict[str, Any]], None]  # (kind, data) for a progress display


@dataclass
class SourceReport:
    """One line of the end-of-sync table."""

    source: str
    status: str = "ok"  # ok | skipped | failed | config-error
    fetched: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # malformed rows reported and skipped
    failed: int = 0  # rows Notion refused
    notion_calls: int = 0
    source_calls: int = 0
    since: datetime | None = None
    message: str = ""
    problems: list[str] = field(default_factory=list)
    would_create: list[str] = field(default_factory=list)  # dry run: titles
    would_update: list[str] = field(default_factory=list)


@dataclass
class SyncReport:
    sources: list[SourceReport]
    notion_calls: int
    notion_writes: int
    duration_s: float
    dry_run: bool

    @property
    def exit_code(self) -> int:
        """0 all ran, 1 some source failed, 2 configuration error."""
        if any(s.status == "config-error" for s in self.sources):
            return 2
        if any(s.status == "failed" or s.failed for s in self.sources):
            return 1
        return 0

    def totals(self) -> dict[str, int]:
        keys = ("fetched", "created", "updated", "unchanged", "skipped", "failed")
        return {k: sum(getattr(s, k) for s in self.sources) for k in keys}


def cursors_from_rows(rows: Sequence[Row], overlap: timedelta) -> dict[str, datetime]:
    """Newest `Last Seen` per Source label, minus `overlap`: where each source's next read starts (closed)."""
    newest: dict[str, datetime] = {}
    for row in rows:
        label, seen = row.values.get("Source"), row.values.get("Last Seen")
        if not isinstance(label, str) or seen is None:
            continue
        if not isinstance(seen, datetime):
            seen = datetime(seen.year, seen.month, seen.day, tzinfo=UTC)
        elif seen.tzinfo is None:
            seen = seen.replace(tzinfo=UTC)
        if label not in newest or seen > newest[label]:
            newest[label] = seen
    return {label: when - overlap for label, when in newest.items()}


def _read_source(connector: Connector, since: datetime | None) -> tuple[list[Signal], Exception | None]:
    signals: list[Signal] = []
    try:
        signals.extend(s for s in connector.read(since) if since is None or s.updated_at >= since)
    except (SourceError, OSError, ValueError) as exc:  # one source failing never stops the others
        return signals, exc
    return signals, None


def _latest_per_key(signals: Sequence[Signal]) -> list[Signal]:
    """The same item read twice (export + API, or an overlap) is written once: the newest version wins."""
    chosen: dict[str, Signal] = {}
    for signal in signals:
        prev = chosen.get(signal.source_key)
        if prev is None or signal.updated_at >= prev.updated_at:
            chosen[signal.source_key] = signal
    return list(chosen.values())


@dataclass
class _Writer:
    """What writing one source's signals needs; shared by every source of one sync."""

    gateway: NotionGateway
    policy: Policy
    scrub: bool
    existing: dict[str, Row]  # by Source Key; the gateway adds the rows it creates
    dupes: DuplicateFinder
    dry_run: bool
    emit: Emit


def _ignore(_kind: str, _data: dict[str, Any]) -> None:
    """The default `on_event`: no progress display."""


def run_sync(
    settings: Settings,
    gateway: NotionGateway,
    policy: Policy,
    *,
    sources: Sequence[str] | None = None,
    since: datetime | None = None,
    dry_run: bool = False,
    on_event: Emit | None = None,
    transports: dict[str, Any] | None = None,
) -> SyncReport:
    """Run one sync. `on_event(kind, data)` feeds a progress display; `transports` lets tests fake sources."""
    started = time.monotonic()
    calls_before, writes_before = gateway.calls.total, gateway.calls.writes
    names = [n.lower() for n in (sources or list(CONNECTORS))]
    reports: dict[str, SourceReport] = {}
    configured = _configured_connectors(settings, names, reports, transports)
    for _name, connector in configured:  # backlog.toml's organization names, for Zendesk exports without them
        if isinstance(connector, ZendeskConnector):
            connector.known_organizations(policy.zendesk.organizations)
    # Nothing to read, nothing to look up: a sync with no configured source costs no Notion call.
    rows = list(gateway.iter_rows()) if configured else []
    existing = {str(r.values["Source Key"]): r for r in rows if r.values.get("Source Key")}
    dupes = DuplicateFinder(rows, settings.backlog_dedupe_threshold)
    writer = _Writer(gateway, policy, settings.backlog_scrub_pii, existing, dupes, dry_run, on_event or _ignore)
    log.info("sync.start", rows=len(rows), sources=[n for n, _ in configured], dry_run=dry_run)
    cursors = cursors_from_rows(rows, timedelta(hours=settings.backlog_sync_overlap_hours))
    runnable = _read_windows(configured, cursors, since, reports)
    _read_and_write(runnable, reports, writer)
    result = SyncReport(
        sources=[reports[n] for n in names],
        notion_calls=gateway.calls.total - calls_before,
        notion_writes=gateway.calls.writes - writes_before,
        duration_s=time.monotonic() - started,
        dry_run=dry_run,
    )
    log.info(
        "sync.done",
        **result.totals(),
        notion_calls=result.notion_calls,
        notion_writes=result.notion_writes,
        duration_s=round(result.duration_s, 2),
        exit_code=result.exit_code,
    )
    return result


def _configured_connectors(
    settings: Settings,
    names: Sequence[str],
    reports: dict[str, SourceReport],
    transports: dict[str, Any] | None,
) -> list[tuple[str, Connector]]:
    """The connectors that can run; every other source gets its report line (what is wrong, or what to set)."""
    configured: list[tuple[str, Connector]] = []
    for name in names:
        report = reports[name] = SourceReport(source=name)
        try:
            connector = build_connector(settings, name, transport=(transports or {}).get(name))
        except (ValueError, ImportError) as exc:
            report.status, report.message = "config-error", str(exc)
            continue
        if not connector.is_configured():
            report.status, report.message = "skipped", f"not configured: {connector.enable_hint}"
            log.info("sync.source_skipped", source=name, hint=connector.enable_hint)
            continue
        configured.append((name, connector))
    return configured


def _read_windows(
    configured: Sequence[tuple[str, Connector]],
    cursors: dict[str, datetime],
    since: datetime | None,
    reports: dict[str, SourceReport],
) -> list[tuple[str, Connector, datetime | None]]:
    """Where each source's read starts: `--since` if given, else its cursor from Notion (None: everything)."""
    runnable: list[tuple[str, Connector, datetime | None]] = []
    for name, connector in configured:
        start = since or cursors.get(SourceName(name).label)
        reports[name].since = start
        runnable.append((name, connector, start))
    return runnable


def _read_and_write(
    runnable: Sequence[tuple[str, Connector, datetime | None]], reports: dict[str, SourceReport], writer: _Writer
) -> None:
    """Read every source concurrently; write each source in turn, in the order given, once its read ended."""
    with ThreadPoolExecutor(max_workers=max(1, len(runnable)), thread_name_prefix="source") as pool:
        futures = {name: pool.submit(_read_source, conn, start) for name, conn, start in runnable}
        for name, connector, _start in runnable:
            writer.emit("source_started", {"source": name})
            signals, error = futures[name].result()
            report = reports[name]
            _record_read(report, connector, error, kept=len(signals))
            _write_source(report, _latest_per_key(signals), writer)
            writer.emit("source_done", {"source": name, "report": report})


def _record_read(report: SourceReport, connector: Connector, error: Exception | None, *, kept: int) -> None:
    """What the read of one source left for its report line and the log: calls, skipped rows, notices, failure."""
    report.source_calls = connector.calls
    report.problems = [str(p) for p in connector.problems] + list(connector.notices)
    report.skipped = len(connector.problems)
    for problem in connector.problems:
        _log_problem(problem)
    for notice in connector.notices:
        log.warning("sync.source_notice", source=report.source, notice=notice)
    if error is not None:
        report.status = "config-error" if isinstance(error, SourceConfigError) else "failed"
        report.message = str(error)
        log.error("sync.source_failed", source=report.source, error=str(error), kept=kept)


def _log_problem(problem: RowProblem) -> None:
    log.warning("sync.row_skipped", source=problem.source, where=problem.where, problem=problem.message)


def _write_source(report: SourceReport, signals: list[Signal], writer: _Writer) -> None:
    """Upsert one source's signals: known rows in one batch, new rows one by one (to link duplicates among them)."""
    calls_before = writer.gateway.calls.total
    report.fetched = len(signals)
    writes = [signal_to_write(s, writer.policy, scrub=writer.scrub) for s in signals]
    known = [w for w in writes if w.source_key in writer.existing]
    new = [w for w in writes if w.source_key not in writer.existing]
    if known:
        result = writer.gateway.upsert(known, existing=writer.existing, dry_run=writer.dry_run)
        report.would_update = [writer.existing[key].values.get("Name") or key for key, _ in result.updated]
        _count(report, result)
    for index, write in enumerate(new, start=1):
        _create(report, write, writer)
        writer.emit("progress", {"source": report.source, "done": index, "total": len(new)})
    report.notion_calls = writer.gateway.calls.total - calls_before


def _create(report: SourceReport, write: RowWrite, writer: _Writer) -> None:
    """Create one new row, linked to its closest existing title; later new rows may be linked to it in turn."""
    title = str(write.properties.get("Name") or "")
    duplicate = writer.dupes.best(title)
    linked = with_possible_duplicate(write, duplicate)
    result = writer.gateway.upsert([linked], existing=writer.existing, dry_run=writer.dry_run)
    for key, page_id in result.created:
        report.created += 1
        report.would_create.append(title)
        writer.dupes.add(page_id, title)
        log.info(
            "sync.created",
            source=report.source,
            source_key=key,
            page_id=page_id,
            possible_duplicate=duplicate,
            dry_run=writer.dry_run,
        )
    _count(report, result)  # a create may find the row a killed run made: counted as updated or unchanged


def _count(report: SourceReport, result: UpsertResult) -> None:
    report.updated += len(result.updated)
    report.unchanged += len(result.unchanged)
    report.failed += len(result.failed)
    _log_failures(report.source, result.failed)


def _log_failures(source: str, failed: Sequence[tuple[str, str]]) -> None:
    for key, message in failed:
        log.error("sync.row_failed", source=source, source_key=key, error=message)
