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

from fastapi import FastAPI

from service.app.runlock import RunLock
from service.app.webhook import RescoreWorker, ServiceHooks, create_app
from service.logging import get_logger
from service.notion import NotionGateway
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

    worker = RescoreWorker(rescore=rescore, debounce_s=debounce_s)
    app = create_app(
        settings, worker, ServiceHooks(bot_user_id=bot_user_id, database_ids=database_ids, run_sync=run_sync)
    )
    return app, worker
