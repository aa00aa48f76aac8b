"""`backlog sync`: every configured source -> Signals -> one upsert into `backlog-candidates`.

Order of work, and why:
1. Read the candidates incrementally (the row cache plus the rows edited since its watermark, see
   docs/cost.md). That gives the cursors (newest Last Seen per source that is not in the future, minus an overlap:
   Notion is the system of record, so a fresh container resumes where the last one stopped) and the titles for
   Possible Duplicate suggestions (dedupe.py). The rows that read returned are healed first: copies of one Source
   Key merge into the oldest (heal.py). Whether a delivered item exists is never taken from the cache: each
   source's delivered keys are looked up in Notion, 100 per query, before it is written (unless this run made a
   full read: then that read is Notion's answer).
2. Read the sources concurrently (daemon threads: the work is waiting on HTTP, and a hung source must not keep the
   process alive). A source that fails, or outlives BACKLOG_SOURCE_DEADLINE_S, is reported and the others go on.
3. Write each source as soon as its read ended, whichever ends first, in cursor order (oldest `updated_at` first):
   the newest Last Seen in Notion is then always a safe place to resume from, even after a SIGKILL (dlt's rule:
   the state moves only past what is written). Every create is keyed, so a killed run converges on the next one.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
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
from service.notion.errors import NotionBlockLimitError
from service.notion.rows import oldest
from service.pipelines.dedupe import DuplicateFinder, with_possible_duplicate
from service.pipelines.heal import HealReport, heal
from service.pipelines.mapping import signal_to_write
from service.pipelines.sources import build_connector
from service.settings import Settings

log = get_logger(__name__)

Emit = Callable[[str, dict[str, Any]], None]  # (kind, data) for a progress display
Read = tuple[list[Signal], Exception | None]
LOOKAHEAD = 512  # signals mapped at a time: their new rows' texts go to the duplicate finder's next batch
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # a cursor before it is no cursor: read everything (never an overflow)


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
    problems: list[str] = field(default_factory=list)  # everything the summary shows under the source
    notices: list[str] = field(default_factory=list)  # dates the cursor ignored or clamped, rows healed
    would_create: list[str] = field(default_factory=list)  # dry run: titles
    would_update: list[str] = field(default_factory=list)


@dataclass
class SyncReport:
    sources: list[SourceReport]
    notion_calls: int
    notion_writes: int
    duration_s: float
    dry_run: bool
    healing: HealReport = field(default_factory=HealReport)

    @property
    def exit_code(self) -> int:
        """0 all ran, 1 some source (or a healing write) failed, 2 configuration error."""
        if any(s.status == "config-error" for s in self.sources):
            return 2
        if any(s.status == "failed" or s.failed for s in self.sources) or self.healing.failed:
            return 1
        return 0

    def totals(self) -> dict[str, int]:
        keys = ("fetched", "created", "updated", "unchanged", "skipped", "failed")
        return {k: sum(getattr(s, k) for s in self.sources) for k in keys}


def _as_aware(seen: Any) -> datetime:
    if not isinstance(seen, datetime):
        return datetime(seen.year, seen.month, seen.day, tzinfo=UTC)
    return seen.replace(tzinfo=UTC) if seen.tzinfo is None else seen


def cursors_from_rows(
    rows: Sequence[Row],
    overlap: timedelta,
    *,
    now: datetime | None = None,
    notices: dict[str, list[str]] | None = None,
) -> dict[str, datetime | None]:
    """Newest `Last Seen` per Source label that is not after `now` (the run's start), minus `overlap`: where each
    source's next read starts (closed). A date in the future never moves a cursor; a start before 1970 (a year-1
    item) is no start at all, read everything: both are told in `notices` (label -> lines)."""
    now = now or datetime.now(UTC)
    newest: dict[str, datetime] = {}
    for row in rows:
        label, seen = row.values.get("Source"), row.values.get("Last Seen")
        if not isinstance(label, str) or seen is None:
            continue
        when = _as_aware(seen)
        if when > now:
            continue  # flagged when it was written; the cursor stays on what is really behind us
        if label not in newest or when > newest[label]:
            newest[label] = when
    cursors: dict[str, datetime | None] = {}
    for label, when in newest.items():
        start = when - overlap if when - EPOCH > overlap else None
        if start is None and notices is not None:
            notices.setdefault(label, []).append(
                f"newest Last Seen is {when:%Y-%m-%d}, before 1970: reading everything instead of a window"
            )
        cursors[label] = start
    return cursors


class SourceBugError(SourceError):
    """A connector raised what it should have reported (a shape of input its parser never met): that source fails
    whole, named, and the rest of the run goes on. Its traceback is in the log (`sync.source_bug`), not the summary."""


def _read_source(connector: Connector, since: datetime | None) -> Read:
    signals: list[Signal] = []
    try:
        signals.extend(s for s in connector.read(since) if since is None or s.updated_at >= since)
    except (SourceError, OSError, ValueError, OverflowError) as exc:  # one source failing never stops the others
        return signals, exc
    except Exception as exc:  # noqa: BLE001 - a connector's bug must not end the run nor half-write the source
        where = str(connector.export_path) if connector.export_path is not None else "its API"
        # The frames as text (redacted like every field; JSON logs only: the console shows the summary's line).
        trace = traceback.format_exc(limit=-8)
        log.error("sync.source_bug", source=connector.source.value, where=where, error=repr(exc), trace=trace)
        message = (
            f"could not read {where}: {type(exc).__name__}: {exc}. Nothing of this source was written this run "
            "(the other sources went on). This is a gap in the connector: keep the file and report it"
        )
        # Nothing kept: what was read so far may not be the oldest part, and the cursor must not pass the rest.
        return [], SourceBugError(connector.source.value, message)
    return signals, None


def _start_read(name: str, connector: Connector, since: datetime | None) -> Future[Read]:
    """Read one source on a daemon thread: a source that hangs past its deadline is left behind, and the process
    still exits (a ThreadPoolExecutor would join it at exit)."""
    future: Future[Read] = Future()

    def work() -> None:
        try:
            future.set_result(_read_source(connector, since))
        except BaseException as exc:  # noqa: BLE001 - a bug: handed to the main thread, raised by .result()
            future.set_exception(exc)

    threading.Thread(target=work, name=f"source-{name}", daemon=True).start()
    return future


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
    existing: dict[str, Row]  # by Source Key: what Notion's lookups found (never the cache)
    dupes: DuplicateFinder
    dry_run: bool
    emit: Emit
    now: datetime  # the run's start: rows dated after it are flagged
    looked_up: set[str] = field(default_factory=set)  # keys already asked of Notion this run
    complete: bool = False  # `existing` is a full read of Notion made this run: no lookup needed
    block_limit: str = ""  # Notion refused a create for the workspace's block limit: stop creating, keep updating


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
    full: bool = False,
) -> SyncReport:
    """Run one sync. `on_event(kind, data)` feeds a progress display; `transports` lets tests fake sources;
    `full` reads every row instead of the rows edited since the cache's watermark."""
    started, now = time.monotonic(), datetime.now(UTC)
    calls_before, writes_before = gateway.calls.total, gateway.calls.writes
    names = [n.lower() for n in (sources or list(CONNECTORS))]
    reports: dict[str, SourceReport] = {}
    configured = _configured_connectors(settings, names, reports, transports)
    for _name, connector in configured:  # backlog.toml's organization names, for Zendesk exports without them
        if isinstance(connector, ZendeskConnector):
            connector.known_organizations(policy.zendesk.organizations)
    # Nothing to read, nothing to look up: a sync with no configured source costs no Notion call.
    # A backlog small enough to read whole in as many pages as the sources would need lookups is read whole:
    # a complete read needs no lookup (docs/cost.md).
    read = gateway.read_rows(full=full, full_if_pages=len(configured)) if configured else None
    rows = list(read.rows.values()) if read else []
    notices: dict[str, list[str]] = {}
    cursors = cursors_from_rows(rows, timedelta(hours=settings.backlog_sync_overlap_hours), now=now, notices=notices)
    moved = {r.source_key for r in read.changed if r.source_key} if read else set()
    rows, healing = heal(gateway, rows, dry_run=dry_run, keys=moved)
    _attach_notices(reports, notices, healing)
    dupes = DuplicateFinder(rows, settings.backlog_dedupe_threshold)
    complete = read is not None and read.full  # every row, read from Notion just now: that is Notion's answer
    existing = index_by_key(rows) if complete else {}
    writer = _Writer(gateway, policy, settings.backlog_scrub_pii, existing, dupes, dry_run, on_event or _ignore, now)
    writer.complete = complete
    log.info("sync.start", rows=len(rows), sources=[n for n, _ in configured], dry_run=dry_run)
    runnable = _read_windows(configured, cursors, since, reports)
    _read_and_write(runnable, reports, writer, deadline_s=settings.backlog_source_deadline_s)
    result = SyncReport(
        sources=[reports[n] for n in names],
        notion_calls=gateway.calls.total - calls_before,
        notion_writes=gateway.calls.writes - writes_before,
        duration_s=time.monotonic() - started,
        dry_run=dry_run,
        healing=healing,
    )
    log.info(
        "sync.done",
        **result.totals(),
        healed=len(healing.trashed),
        notion_calls=result.notion_calls,
        notion_writes=result.notion_writes,
        duration_s=round(result.duration_s, 2),
        exit_code=result.exit_code,
    )
    return result


def index_by_key(rows: Sequence[Row]) -> dict[str, Row]:
    """Source Key -> its row; where a key still has several (healing failed, or a dry run), the oldest."""
    copies: dict[str, list[Row]] = {}
    for row in rows:
        if row.source_key:
            copies.setdefault(row.source_key, []).append(row)
    return {key: oldest(group) for key, group in copies.items()}


def _attach_notices(reports: dict[str, SourceReport], notices: dict[str, list[str]], healing: HealReport) -> None:
    """Cursor and healing lines go under their source's line of the summary (keys read `<source>:<id>`)."""
    by_label = {SourceName(name).label: report for name, report in reports.items()}
    for label, lines in notices.items():
        if label in by_label:
            by_label[label].notices.extend(lines)
    for line in healing.lines:
        for name, report in reports.items():
            if f" {name}:" in line:
                report.notices.append(line)
                break


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
    cursors: dict[str, datetime | None],
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
    runnable: Sequence[tuple[str, Connector, datetime | None]],
    reports: dict[str, SourceReport],
    writer: _Writer,
    *,
    deadline_s: float,
) -> None:
    """Read every source concurrently; write each one as soon as its read ended, whichever ends first. A source
    still reading at the deadline is reported as timed out and left behind (its thread is a daemon)."""
    deadline = time.monotonic() + deadline_s
    pending = {_start_read(name, conn, start): (name, conn) for name, conn, start in runnable}
    order = {future: index for index, future in enumerate(pending)}  # reads ending together: the order given
    while pending:
        done, _ = wait(list(pending), timeout=max(0.0, deadline - time.monotonic()), return_when=FIRST_COMPLETED)
        if not done:
            for name, connector in pending.values():
                _timed_out(reports[name], connector, deadline_s)
            return
        for future in sorted(done, key=order.__getitem__):
            name, connector = pending.pop(future)
            writer.emit("source_started", {"source": name})
            signals, error = future.result()
            report = reports[name]
            _record_read(report, connector, error, kept=len(signals))
            latest = _latest_per_key(signals)
            signals.clear()  # the future holds this list too: the signals go as they are written
            _write_source(report, latest, writer)
            writer.emit("source_done", {"source": name, "report": report})


def _timed_out(report: SourceReport, connector: Connector, deadline_s: float) -> None:
    report.status = "failed"
    report.source_calls = connector.calls
    report.message = (
        f"timed out after {deadline_s:g} s: nothing of it was written this run (the next sync reads it again); "
        "BACKLOG_SOURCE_DEADLINE_S sets the limit"
    )
    report.problems.extend(report.notices)
    log.error("sync.source_timed_out", source=report.source, deadline_s=deadline_s)


def _record_read(report: SourceReport, connector: Connector, error: Exception | None, *, kept: int) -> None:
    """What the read of one source left for its report line and the log: calls, skipped rows, notices, failure."""
    report.source_calls = connector.calls
    report.problems = [str(p) for p in connector.problems] + list(connector.notices) + report.notices
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
    """Upsert one source's signals in cursor order (oldest first), so that a kill at any point leaves nothing
    unwritten behind the newest Last Seen; new rows one by one (to link duplicates among them). Takes `signals`
    over: each leaves memory once written (at 10,000 items they held ~15 MB to the end)."""
    calls_before = writer.gateway.calls.total
    report.fetched = len(signals)
    todo = sorted(signals, key=lambda s: s.updated_at)
    signals.clear()
    _look_up(writer, [s.source_key for s in todo])
    new_total = sum(1 for s in todo if s.source_key not in writer.existing)
    writer.dupes.reserve(new_total)
    todo.reverse()  # oldest last: taken off the end in cursor order
    created = 0
    while todo:
        chunk = [todo.pop() for _ in range(min(LOOKAHEAD, len(todo)))]
        writes = [signal_to_write(signal, writer.policy, scrub=writer.scrub) for signal in chunk]
        writer.dupes.expect(_texts(w) for w in writes if w.source_key not in writer.existing)
        for signal, write in zip(chunk, writes, strict=True):
            _flag_date(report, signal, writer.now)
            if write.source_key in writer.existing:
                result = writer.gateway.upsert([write], existing=writer.existing, dry_run=writer.dry_run)
                report.would_update += [writer.existing[key].values.get("Name") or key for key, _ in result.updated]
                _count(report, result)
                continue
            _create(report, write, writer)
            created += 1
            writer.emit("progress", {"source": report.source, "done": created, "total": new_total})
    report.notion_calls = writer.gateway.calls.total - calls_before


def _texts(write: RowWrite) -> tuple[str, str]:
    """What the duplicate finder matches a new row by: its title and excerpt."""
    return str(write.properties.get("Name") or ""), str(write.properties.get("Excerpt") or "")


def _look_up(writer: _Writer, keys: Sequence[str]) -> None:
    """Ask Notion which of `keys` exist (100 per query), once per key and run: the one thing that decides
    create or update. The row cache is never asked; a full read made this run is Notion's answer already."""
    if writer.complete:
        return
    todo = [key for key in dict.fromkeys(keys) if key not in writer.looked_up]
    writer.looked_up.update(todo)
    writer.existing.update(writer.gateway.find_by_source_keys(todo))


def _flag_date(report: SourceReport, signal: Signal, now: datetime) -> None:
    """An item dated in the future (or before 1970) is imported, and named in the summary: its clock is wrong."""
    when = signal.updated_at
    if EPOCH <= when <= now:
        return
    side = "in the future" if when > now else "before 1970"
    line = (
        f"{signal.title[:80]!r} ({signal.source_key}) is dated {when.isoformat()}, {side}: imported, but it never "
        "moves the cursor; check the source's clock or export"
    )
    report.notices.append(line)
    report.problems.append(line)
    log.warning("sync.odd_date", source=report.source, source_key=signal.source_key, updated_at=when.isoformat())


def _create(report: SourceReport, write: RowWrite, writer: _Writer) -> None:
    """Create one new row, linked to its closest earlier row (title, then meaning) with the Duplicate Note; later
    new rows may be linked to it in turn."""
    title, excerpt = _texts(write)
    if writer.block_limit:
        report.failed += 1  # not created: the workspace's block limit (said once, below)
        return
    match = writer.dupes.match(title, excerpt)
    duplicate = match.page_id if match else None
    linked = with_possible_duplicate(write, match)
    try:
        result = writer.gateway.upsert([linked], existing=writer.existing, dry_run=writer.dry_run)
    except NotionBlockLimitError as exc:
        writer.block_limit = str(exc)
        report.failed += 1
        report.problems.append(f"new rows not created: {exc}")
        log.error("sync.block_limit", source=report.source, error=str(exc))
        return
    for key, page_id in result.created:
        report.created += 1
        report.would_create.append(title)
        writer.dupes.add(page_id, title, excerpt)
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
