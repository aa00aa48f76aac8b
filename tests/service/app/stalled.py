"""`backlog serve` on the sandbox with its rescore stuck on an Event: the one setup the responsiveness tests share."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from service.app import server
from service.notion import NotionGateway
from service.settings import Settings
from tests.fakes.sandbox_helpers import no_sleep


@dataclass
class Stalled:
    app: FastAPI
    settings: Settings
    release: threading.Event


@contextmanager
def stalled_serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **settings: Any) -> Iterator[Stalled]:
    """The rescore of page-1 has started and holds the gateway and the host lock until `release` is set."""
    release, entered = threading.Event(), threading.Event()

    def stalled_score(*_args: Any, **_kwargs: Any) -> None:
        entered.set()
        release.wait(10)

    monkeypatch.setattr(server, "run_score", stalled_score)
    config = Settings(backlog_sandbox_path=tmp_path / "s.sqlite3", backlog_lock_path=tmp_path / "run.lock", **settings)
    gateway = NotionGateway.from_settings(config, sleep=no_sleep)
    gateway.init_database()
    app, worker = server.build_service(config, gateway=gateway, debounce_s=0)
    worker.start()
    worker.submit("page-1")
    assert entered.wait(5), "the rescore never started"
    try:
        yield Stalled(app, config, release)
    finally:
        release.set()
        worker.stop()
        gateway.close()
