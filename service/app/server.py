"""Wiring for `backlog serve`: the FastAPI app, its rescore worker, and the gateway they share.

Every write the service makes (a rescore, POST /sync) runs in a worker thread holding the gateway's lock and the
host lock every writing command takes (BACKLOG_LOCK_PATH), so a cron `backlog run` and the service never write
at once from one host. The service waits for the host lock (up to SERVE_LOCK_WAIT_S) instead of giving up: its
work is already off the event loop.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

from fastapi import FastAPI

from service.app.jobs import RescoreWorker, WorkerHooks
from service.app.runlock import RunLock
from service.app.webhook import ServiceHooks, create_app
from service.logging import get_logger
from service.notion import NotionError, NotionGateway
from service.pipelines.cycle import report_exit_code
from service.pipelines.report import run_report
from service.pipelines.score import run_score
from service.policy_file import policy_for
from service.settings import Settings

log = get_logger(__name__)

SERVE_LOCK_WAIT_S = 900.0  # a cron run's length; past it the work is logged as failed and the service goes on


def build_service(
    settings: Settings, gateway: NotionGateway | None = None, debounce_s: float = 1.0
) -> tuple[FastAPI, RescoreWorker]:
    """One gateway for the process (so one rate limiter); its calls are serialised by a lock."""
    gw = gateway or NotionGateway.from_settings(settings)
    policy = policy_for(settings)
    notion_lock = threading.Lock()

    @contextmanager
    def writing(what: str) -> Iterator[None]:
        """The host lock first (waiting for a cron run), then the gateway: lookups never wait on a cron run."""
        lock = RunLock(settings.backlog_lock_path, command=f"serve ({what})")
        lock.acquire(wait_s=max(settings.backlog_lock_wait_s, SERVE_LOCK_WAIT_S))
        try:
            with notion_lock:
                yield
        finally:
            lock.release()

    def rescore(page_id: str | None) -> None:
        with writing("rescore"):
            run_score(gw, policy, page_id=page_id)

    def database_ids() -> set[str]:
        with notion_lock:
            ref = gw.database()
        return {ref.database_id, ref.data_source_id}

    def bot_user_id() -> str:
        with notion_lock:
            return gw.bot_user_id()

    def run_sync() -> None:
        from service.pipelines.sync import run_sync as sync_pipeline

        with writing("sync"):
            report = sync_pipeline(settings, gw, policy)
            log.info("serve.sync_done", exit_code=report.exit_code)
            run_score(gw, policy)

    def run_report_now(sprint: int, start: date | None) -> None:
        with writing("report"):
            result = run_report(gw, policy, sprint=sprint, start=start or _next_monday())
            log.info("serve.report_done", sprint=sprint, page=result.page_action, exit_code=report_exit_code(result))

    hooks = WorkerHooks(
        forget_schema=lambda: _reread_schema(gw, notion_lock),
        merge_target=lambda page_id: _merge_target(gw, notion_lock, page_id),
        is_ours=lambda parents: bool({_norm(p) for p in parents} & {_norm(d) for d in database_ids()}),
        warm=lambda: _warm_rows(gw, notion_lock),
    )
    worker = RescoreWorker(rescore=rescore, debounce_s=debounce_s, hooks=hooks)
    service_hooks = ServiceHooks(
        bot_user_id=bot_user_id, database_ids=database_ids, run_sync=run_sync, run_report=run_report_now
    )
    return create_app(settings, worker, service_hooks), worker


def _warm_rows(gw: NotionGateway, notion_lock: threading.Lock) -> None:
    """The candidates read once at start (incremental from the cache file, or whole on a cold host)."""
    with notion_lock:
        read = gw.read_rows()
    log.info("serve.rows_warm", rows=len(read.rows), full=read.full)


def _reread_schema(gw: NotionGateway, notion_lock: threading.Lock) -> None:
    """Forget the cached schema and read it again now, so a renamed or retyped property is known (and named in
    the log by the next command that trips on it) before the next rescore."""
    with notion_lock:
        gw.forget_schema()
        types = gw.property_types()
    log.info("serve.schema_reread", properties=len(types))


def _merge_target(gw: NotionGateway, notion_lock: threading.Lock, page_id: str) -> str | None:
    """The row a page (now in the trash) was merged into: Notion still answers for a trashed page."""
    try:
        with notion_lock:
            row = gw.get_row(page_id)
            gw.forget_row(page_id)  # in the trash: no longer planned or scored from serve's rows
    except NotionError as exc:
        log.warning("serve.deleted_page_unreadable", page_id=page_id, error=str(exc))
        return None
    targets = row.values.get("Merged Into") or []
    return str(targets[0]) if targets else None


def _next_monday() -> date:
    """The default first day of a sprint, as `backlog report` has it."""
    today = datetime.now(UTC).date()
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7)


def _norm(value: str) -> str:
    return value.replace("-", "").lower()
