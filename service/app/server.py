"""Wiring for `backlog serve`: the FastAPI app, its rescore worker, and the gateway they share."""

from __future__ import annotations

import threading

from fastapi import FastAPI

from service.app.webhook import RescoreWorker, ServiceHooks, create_app
from service.logging import get_logger
from service.notion import NotionGateway
from service.pipelines.score import run_score
from service.policy_file import policy_for
from service.settings import Settings

log = get_logger(__name__)


def build_service(
    settings: Settings, gateway: NotionGateway | None = None, debounce_s: float = 1.0
) -> tuple[FastAPI, RescoreWorker]:
    """One gateway for the process (so one rate limiter); its calls are serialised by a lock."""
    gw = gateway or NotionGateway.from_settings(settings)
    policy = policy_for(settings)
    notion_lock = threading.Lock()

    def rescore(page_id: str | None) -> None:
        with notion_lock:
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

        with notion_lock:
            report = sync_pipeline(settings, gw, policy)
            log.info("serve.sync_done", exit_code=report.exit_code)
            run_score(gw, policy)

    worker = RescoreWorker(rescore=rescore, debounce_s=debounce_s)
    app = create_app(
        settings, worker, ServiceHooks(bot_user_id=bot_user_id, database_ids=database_ids, run_sync=run_sync)
    )
    return app, worker
