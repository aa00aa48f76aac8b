"""The PM's buttons: `backlog serve`'s endpoints for Notion's "Send webhook" action (buttons, database buttons,
database automations). Authenticated by a secret header, lenient about the payload, idempotent, coalesced, and
answering at once even while the work they start is stalled."""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.app import server
from service.app.actions import ButtonPress, parse_press
from service.app.jobs import RescoreWorker, WorkerHooks
from service.app.webhook import ServiceHooks, create_app
from service.settings import Settings
from tests.service.app.stalled import stalled_serve

TOKEN = "btn-secret-4f9a2c"
WRONG = "not-the-secret-77"
DS, DB = "ds-1", "db-1"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
ENDPOINTS = ["/actions/sync", "/actions/rescore", "/actions/report?sprint=3"]


def notion_press(page_id: str = "row-1", parent: dict[str, Any] | None = None, event_id: str = "evt-1") -> Any:
    """A Send-webhook payload as Notion's buttons send it: who/what sent it, and the page with its properties."""
    return {
        "source": {
            "type": "automation",
            "automation_id": "auto-1",
            "action_id": "act-1",
            "event_id": event_id,
            "attempt": 1,
        },
        "data": {
            "object": "page",
            "id": page_id,
            "parent": parent or {"type": "data_source_id", "data_source_id": DS, "database_id": DB},
            "url": f"https://www.notion.so/{page_id}",
            "properties": {
                "Name": {"id": "title", "type": "title", "title": [{"plain_text": "Escalation"}]},
                "Sprint": {"id": "abc", "type": "number", "number": 7},
            },
        },
    }


class Buttons:
    """The app with recording hooks; the worker is driven by hand, syncs and reports run in threads."""

    def __init__(self, api_token: str | None = TOKEN, sync_gate: threading.Event | None = None) -> None:
        self.rescored: list[str | None] = []
        self.syncs = 0
        self.reports: list[tuple[int, date | None]] = []
        self.gate = sync_gate
        hooks = WorkerHooks(is_ours=lambda parents: bool(parents & {DS, DB}))
        self.worker = RescoreWorker(rescore=self.rescored.append, debounce_s=0, hooks=hooks)
        settings = Settings(backlog_api_token=SecretStr(api_token) if api_token else None)
        service = ServiceHooks(lambda: "bot", lambda: {DS, DB}, self.sync, self.report)
        self.client = TestClient(create_app(settings, self.worker, service))

    def sync(self) -> None:
        self.syncs += 1
        if self.gate:
            self.gate.wait(5)

    def report(self, sprint: int, start: date | None) -> None:
        self.reports.append((sprint, start))
        if self.gate:
            self.gate.wait(5)

    def press(self, path: str, payload: Any = None, headers: dict[str, str] | None = None) -> Any:
        return self.client.post(path, json=payload, headers=BEARER if headers is None else headers)


def wait_for(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert condition()


# ------------------------------------------------------------------------------------------------ auth
@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": f"Bearer {WRONG}"}, {"X-Backlog-Token": WRONG}, {"Authorization": TOKEN}],
    ids=["none", "wrong-bearer", "wrong-header", "no-scheme"],
)
def test_every_action_needs_the_token(path: str, headers: dict[str, str]) -> None:
    b = Buttons()
    response = b.press(path, notion_press(), headers=headers)
    assert response.status_code == 401
    assert "BACKLOG_API_TOKEN" in response.json()["detail"]
    assert b.worker.pending_count() == 0
    assert (b.syncs, b.reports) == (0, [])


@pytest.mark.parametrize("headers", [BEARER, {"X-Backlog-Token": TOKEN}, {"authorization": f"bearer {TOKEN}"}])
def test_either_header_form_is_accepted(headers: dict[str, str]) -> None:
    b = Buttons()
    assert b.press("/actions/rescore", notion_press(), headers=headers).status_code == 202
    assert b.worker.pending() == {"row-1"}


def test_actions_are_off_without_a_token_on_the_server() -> None:
    b = Buttons(api_token=None)
    response = b.press("/actions/sync", {}, headers={"X-Backlog-Token": "anything"})
    assert response.status_code == 503
    assert "BACKLOG_API_TOKEN" in response.json()["detail"]


def test_no_token_reaches_the_logs(capsys: pytest.CaptureFixture[str]) -> None:
    from service.logging import configure_logging

    configure_logging(fmt="json", level="DEBUG")
    b = Buttons()
    b.press("/actions/sync", notion_press(), headers={"Authorization": f"Bearer {WRONG}"})
    b.press("/actions/rescore", notion_press(), headers={"X-Backlog-Token": WRONG})
    b.press("/actions/rescore", notion_press(event_id="evt-2"), headers={"X-Backlog-Token": TOKEN})
    logged = capsys.readouterr()
    text = logged.out + logged.err
    assert "actions.unauthorized" in text
    assert "actions.accepted" in text
    assert TOKEN not in text
    assert WRONG not in text


# ------------------------------------------------------------------------------------------------ payloads
def test_a_press_on_a_row_rescores_that_row() -> None:
    b = Buttons()
    answer = b.press("/actions/rescore", notion_press("row-9")).json()
    assert answer == {"accepted": True, "action": "rescore", "outcome": "queued", "queued": "row-9"}
    b.worker.run_pending()
    assert b.rescored == ["row-9"]


def test_a_press_on_another_page_rescores_the_backlog() -> None:
    """A page button on the control page sends the control page itself: not a row, so everything."""
    b = Buttons()
    b.press("/actions/rescore", notion_press("control-page", parent={"type": "page_id", "page_id": "parent-page"}))
    b.worker.run_pending()
    assert b.rescored == [None]


@pytest.mark.parametrize("body", [None, b"", b"not json", b"[1, 2]", b'{"data": "odd"}'])
def test_any_body_is_a_press(body: bytes | None) -> None:
    b = Buttons()
    response = b.client.post("/actions/rescore", content=body, headers=BEARER)
    assert response.status_code == 202
    assert response.json()["queued"] == "all"


def test_parse_press_reads_notions_shape_and_plain_calls() -> None:
    press = parse_press(notion_press("row-3"))
    assert (press.page_id, press.parents, press.event_id, press.attempt, press.sprint) == (
        "row-3",
        frozenset({DS}),
        "evt-1",
        1,
        7,
    )
    assert parse_press({"page_id": "p9"}) == ButtonPress(page_id="p9")  # POST /rescore's body: trusted as given
    assert parse_press({"data": {"object": "database", "id": "db"}}).page_id is None
    assert parse_press({"data": {"id": "x"}}).parents == frozenset({"unknown-parent"})
    assert parse_press("text") == ButtonPress()


def test_a_retried_delivery_of_one_press_is_handled_once() -> None:
    b = Buttons()
    first = b.press("/actions/rescore", notion_press(event_id="evt-5")).json()
    again = b.press("/actions/rescore", notion_press(event_id="evt-5")).json()
    assert (first["outcome"], again["outcome"]) == ("queued", "duplicate")
    assert b.worker.run_pending() == 1
    assert b.press("/actions/rescore", notion_press(event_id="evt-6")).json()["outcome"] == "queued"


# ------------------------------------------------------------------------------------------------ plan sprint
@pytest.mark.parametrize(
    ("path", "headers", "payload", "sprint"),
    [
        ("/actions/report?sprint=12", BEARER, {}, 12),
        ("/actions/report", {**BEARER, "X-Backlog-Sprint": "13"}, {}, 13),
        ("/actions/report", BEARER, notion_press(), 7),  # a database button on a row whose Sprint is 7
    ],
    ids=["query", "header", "row-property"],
)
def test_plan_sprint_takes_its_number_from_the_url_a_header_or_the_row(
    path: str, headers: dict[str, str], payload: Any, sprint: int
) -> None:
    b = Buttons()
    answer = b.press(path, payload, headers=headers)
    assert answer.status_code == 202, answer.text
    assert answer.json()["sprint"] == sprint
    wait_for(lambda: b.reports)
    assert b.reports == [(sprint, None)]


def test_plan_sprint_with_a_start_date() -> None:
    b = Buttons()
    assert b.press("/actions/report?sprint=2&start=2026-12-07", {}).status_code == 202
    wait_for(lambda: b.reports)
    assert b.reports == [(2, date(2026, 12, 7))]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/actions/report", "?sprint=N"),
        ("/actions/report?sprint=abc", "not a number"),
        ("/actions/report?sprint=0", "not a number"),
        ("/actions/report?sprint=4&start=monday", "YYYY-MM-DD"),
    ],
)
def test_plan_sprint_says_what_is_missing(path: str, message: str) -> None:
    b = Buttons()
    response = b.press(path, {})
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert b.reports == []


# ------------------------------------------------------------------------------------------------ coalescing
def test_presses_while_one_sync_is_waiting_do_not_queue_another() -> None:
    gate = threading.Event()
    b = Buttons(sync_gate=gate)
    outcomes = [b.press("/actions/sync", notion_press(event_id=f"e{i}")).json()["outcome"] for i in range(5)]
    assert outcomes == ["started", "queued", "coalesced", "coalesced", "coalesced"]
    gate.set()
    wait_for(lambda: not b.client.get("/healthz").json()["sync"]["running"])
    assert b.syncs == 2  # the one running, and one for every press made meanwhile


def test_presses_of_plan_sprint_coalesce_on_the_latest_sprint() -> None:
    gate = threading.Event()
    b = Buttons(sync_gate=gate)
    outcomes = [b.press(f"/actions/report?sprint={n}", {}).json()["outcome"] for n in (4, 5, 6)]
    assert outcomes == ["started", "queued", "coalesced"]
    gate.set()
    wait_for(lambda: len(b.reports) == 2)
    time.sleep(0.05)
    assert b.reports == [(4, None), (6, None)]


def test_rescore_presses_coalesce_with_pending_webhook_work() -> None:
    b = Buttons()
    for i in range(10):
        b.press("/actions/rescore", notion_press("row-1", event_id=f"e{i}"))
    assert b.worker.run_pending() == 1
    assert b.rescored == ["row-1"]


# ------------------------------------------------------------------------------------------------ speed
@pytest.fixture
def stalled_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`backlog serve` on the sandbox whose rescore is stuck (holding the gateway and the host lock)."""
    ran: list[str] = []
    done = SimpleNamespace(exit_code=0, page_action="unchanged", failed=[], plan=SimpleNamespace(empty_reason=None))
    monkeypatch.setattr(server, "run_report", lambda *_a, **_k: ran.append("report") or done)
    monkeypatch.setattr(server, "report_exit_code", lambda _result: 0)
    monkeypatch.setattr("service.pipelines.sync.run_sync", lambda *_a, **_k: ran.append("sync") or done)
    with stalled_serve(tmp_path, monkeypatch, backlog_api_token=SecretStr(TOKEN)) as stalled:
        yield stalled.app, stalled.release
        stalled.release.set()
        runners = stalled.app.state.runners
        wait_for(lambda: not runners.sync.state["running"] and not runners.report.runner.state["running"], 10)
    assert sorted(set(ran)) == ["report", "sync"]


def test_every_button_answers_within_100ms_while_the_work_is_stalled(stalled_service: Any) -> None:
    app, release = stalled_service
    with TestClient(app) as client:
        client.get("/healthz")
        for i, path in enumerate(ENDPOINTS * 3):
            began = time.monotonic()
            response = client.post(path, json=notion_press(event_id=f"e{i}"), headers=BEARER)
            elapsed = time.monotonic() - began
            assert response.status_code == 202, response.text
            assert elapsed < 0.1, f"{path} took {elapsed * 1000:.0f} ms while a rescore was stalled"
        release.set()
