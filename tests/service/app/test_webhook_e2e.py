"""The webhook path end to end on the sandbox: the PM edits a row in Notion, Notion sends a signed event, the
service rescores that row and RICE in Notion changes. Our own writes (bot-authored events) trigger nothing.

The sandbox stamps every write with the integration's bot as `last_edited_by`, so the PM's edit is made through
the API; the event's `authors` carry the sandbox's person user, as Notion's would for an edit in the UI.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from scoring.policy import Policy
from service.app.server import build_service
from service.app.webhook import sign
from service.notion import NotionGateway
from service.pipelines.score import run_score
from service.sandbox import Sandbox
from service.settings import Settings
from tests.service.pipelines.test_score import no_sleep, pm_edit, rows_by_key, seed_backlog

SECRET = "whsec-e2e-verification-token"


class Deployment:
    """`backlog serve` in process: the app, its worker (driven by hand), the gateway, the sandbox's users."""

    def __init__(self, sandbox_path: Path) -> None:
        self.settings = Settings(backlog_sandbox_path=sandbox_path, notion_webhook_secret=SecretStr(SECRET))
        self.gateway = NotionGateway.from_settings(self.settings, sleep=no_sleep)
        self.ids = seed_backlog(self.gateway)
        run_score(self.gateway, Policy())
        box = Sandbox(sandbox_path)
        self.person_user_id, self.sandbox_bot_id = box.person_user_id, box.bot_user_id
        box.close()
        app, self.worker = build_service(self.settings, gateway=self.gateway, debounce_s=0)
        self.client = TestClient(app)
        self.data_source_id = self.gateway.database().data_source_id

    def event(self, page_id: str, author: str, *, parent: str | None = None) -> dict[str, Any]:
        return {
            "id": f"evt-{page_id}",
            "timestamp": "2026-01-13T09:30:00.000Z",
            "workspace_id": "ws-1",
            "subscription_id": "sub-1",
            "integration_id": "int-1",
            "type": "page.properties_updated",
            "attempt_number": 1,
            "authors": [{"id": author, "type": "person" if author == self.person_user_id else "bot"}],
            "entity": {"id": page_id, "type": "page"},
            "data": {
                "parent": {"id": parent or self.data_source_id, "type": "data_source"},
                "updated_properties": ["Impact"],
            },
        }

    def deliver(self, payload: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(payload).encode()
        response = self.client.post(
            "/webhooks/notion",
            content=body,
            headers={"Content-Type": "application/json", "X-Notion-Signature": sign(SECRET, body)},
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def rice(self, key: str) -> Any:
        return rows_by_key(self.gateway)[key].get("RICE")


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    deployed = Deployment(tmp_path / "s.sqlite3")
    yield deployed
    deployed.gateway.close()


def test_pm_edit_event_rescores_the_row_in_notion(deployment: Deployment) -> None:
    page_id = deployment.ids["escalation"]
    assert deployment.rice("escalation") == pytest.approx(5.33)
    pm_edit(deployment.gateway, page_id, {"Impact": "3"})  # the PM raises Impact from 2 to 3

    answer = deployment.deliver(deployment.event(page_id, deployment.person_user_id))
    assert answer["queued"] is True
    assert deployment.worker.pending() == {page_id}
    assert deployment.worker.run_pending() == 1
    assert deployment.worker.rescores == 1

    assert deployment.rice("escalation") == pytest.approx(8.0)  # 5 x 3 x 80% / 1.5
    note = rows_by_key(deployment.gateway)["escalation"].get("Score Note")
    assert "RICE 8.0 = Reach 5 × Impact 3 × Confidence 80% / Effort 1.5 pw." in note


def test_event_authored_by_our_own_bot_triggers_nothing(deployment: Deployment) -> None:
    page_id = deployment.ids["escalation"]
    bot = deployment.gateway.bot_user_id()
    assert bot == deployment.sandbox_bot_id  # users.me of the sandbox is the integration's bot
    pm_edit(deployment.gateway, page_id, {"Impact": "3"})
    writes_before = deployment.gateway.calls.writes

    answer = deployment.deliver(deployment.event(page_id, bot))
    assert answer == {"ok": True, "queued": False, "reason": "authored by this integration's own bot"}
    assert deployment.worker.run_pending() == 0
    assert deployment.worker.rescores == 0
    assert deployment.gateway.calls.writes == writes_before
    assert deployment.rice("escalation") == pytest.approx(5.33)  # not rescored: the edit waits for the next run


def test_event_for_a_page_of_another_database_is_ignored(deployment: Deployment) -> None:
    answer = deployment.deliver(
        deployment.event(deployment.ids["escalation"], deployment.person_user_id, parent="another-data-source")
    )
    assert (answer["queued"], answer["reason"]) == (False, "page of another database")
    assert deployment.worker.pending() == set()


def test_unsigned_event_is_refused_before_any_notion_call(deployment: Deployment) -> None:
    calls_before = deployment.gateway.calls.total
    body = json.dumps(deployment.event(deployment.ids["escalation"], deployment.person_user_id)).encode()
    response = deployment.client.post(
        "/webhooks/notion", content=body, headers={"X-Notion-Signature": sign("not-the-secret", body)}
    )
    assert response.status_code == 401
    assert deployment.worker.pending() == set()
    assert deployment.gateway.calls.total == calls_before
