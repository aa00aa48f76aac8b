"""`connect` sends NOTION_API_VERSION as the Notion-Version header, to the real API and to the sandbox."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from service.notion.client import connect
from service.sandbox import Sandbox, SandboxTransport
from service.settings import NOTION_API_VERSIONS, Settings


@pytest.mark.parametrize("notion_version", NOTION_API_VERSIONS)
def test_the_real_api_gets_the_configured_notion_version(notion_version: str) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"object": "user", "id": "bot-1", "type": "bot", "bot": {}})

    settings = Settings(notion_token=SecretStr("ntn_test_token"), notion_api_version=notion_version)
    connection = connect(settings, transport=httpx.MockTransport(answer))
    connection.client.users.me()
    [request] = seen
    assert request.headers["Notion-Version"] == notion_version


def test_the_sandbox_answers_in_the_configured_version(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    settings = Settings(backlog_sandbox_path=path, notion_api_version="2025-09-03")
    old = connect(settings, transport=SandboxTransport(Sandbox(path)))
    root = old.client.pages.retrieve(old.sandbox_root_page_id)
    assert "archived" in root  # 2025-09-03 still shows the alias

    new = connect(Settings(backlog_sandbox_path=path), transport=SandboxTransport(Sandbox(path)))
    root = new.client.pages.retrieve(new.sandbox_root_page_id)
    assert "archived" not in root  # 2026-03-11 (the default) shows in_trash only
    assert root["in_trash"] is False
