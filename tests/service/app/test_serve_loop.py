"""`backlog serve` never blocks its event loop: /healthz answers in milliseconds while a rescore is stalled and a
webhook waits for the gateway that rescore holds; POST /sync is coalesced (one running, one waiting); the
service's writes hold the same host lock as every writing command."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.app.runlock import RunLock, RunLockHeldError
from service.app.webhook import RescoreWorker, ServiceHooks, SyncRunner, create_app, sign
from service.settings import Settings
from tests.service.app.stalled import stalled_serve

SECRET = "whsec-loop"


def webhook_body() -> bytes:
    event = {
        "id": "evt-1",
        "type": "page.properties_updated",
        "authors": [{"id": "someone", "type": "person"}],
        "entity": {"id": "page-1", "type": "page"},
        "data": {"parent": {"id": "ds-unknown", "type": "data_source"}},
    }
    return json.dumps(event).encode()


@pytest.fixture
def stalled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A serve app whose rescore blocks on an Event (holding the gateway and the host lock) until released."""
    with stalled_serve(tmp_path, monkeypatch, notion_webhook_secret=SecretStr(SECRET)) as stalled:
        yield stalled.app, stalled.settings, stalled.release


def test_healthz_answers_within_100ms_while_a_rescore_is_stalled_and_a_webhook_waits(stalled: Any) -> None:
    app, _settings, release = stalled
    answers: list[int] = []
    with TestClient(app) as client:
        body = webhook_body()
        headers = {"Content-Type": "application/json", "X-Notion-Signature": sign(SECRET, body)}
        # The first delivery looks up the bot's id: it waits for the gateway the stalled rescore holds.
        waiting = threading.Thread(
            target=lambda: answers.append(client.post("/webhooks/notion", content=body, headers=headers).status_code)
        )
        waiting.start()
        time.sleep(0.3)
        assert not answers, "the webhook should still be waiting for the gateway"
        for _ in range(5):
            began = time.monotonic()
            health = client.get("/healthz")
            elapsed = time.monotonic() - began
            assert health.status_code == 200
            assert elapsed < 0.1, f"/healthz took {elapsed * 1000:.0f} ms during a stalled rescore"
        release.set()
        waiting.join(10)
    assert answers == [200]


def test_serve_rescore_holds_the_host_lock_every_writing_command_takes(stalled: Any) -> None:
    _app, settings, _release = stalled
    with pytest.raises(RunLockHeldError) as held:
        RunLock(settings.backlog_lock_path, command="score").acquire()
    message = str(held.value)
    assert "`backlog serve (rescore)`" in message
    assert str(settings.backlog_lock_path) in message
    assert "pid " in message
    assert "since " in message


def test_post_sync_is_coalesced_one_running_one_waiting() -> None:
    release = threading.Event()
    runs: list[float] = []

    def slow_sync() -> None:
        runs.append(time.monotonic())
        release.wait(5)

    runner = SyncRunner(slow_sync)
    assert runner.request() == "started"
    deadline = time.monotonic() + 5
    while not runs and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [runner.request() for _ in range(5)] == ["queued", "coalesced", "coalesced", "coalesced", "coalesced"]
    assert runner.state == {"running": True, "pending": True}
    release.set()
    while runner.state["running"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert runner.runs == 2  # the first, and one for every request made while it ran
    assert runner.state == {"running": False, "pending": False}
    assert runner.request() == "started"


def test_post_sync_answers_at_once_and_coalesces_through_the_api() -> None:
    release = threading.Event()
    runs: list[int] = []

    def slow_sync() -> None:
        runs.append(1)
        release.wait(5)

    settings = Settings(backlog_api_token=SecretStr("tok"))
    app = create_app(settings, RescoreWorker(rescore=lambda _page: None), ServiceHooks(lambda: "bot", set, slow_sync))
    auth = {"Authorization": "Bearer tok"}
    with TestClient(app) as client:
        began = time.monotonic()
        answers = [client.post("/sync", headers=auth).json()["sync"] for _ in range(4)]
        assert time.monotonic() - began < 1.0  # none of them waited for the sync
        assert answers == ["started", "queued", "coalesced", "coalesced"]
        assert client.get("/healthz").json()["sync"] == {"running": True, "pending": True}
        release.set()
        deadline = time.monotonic() + 5
        while client.get("/healthz").json()["sync"]["running"] and time.monotonic() < deadline:
            time.sleep(0.01)
    assert len(runs) == 2
