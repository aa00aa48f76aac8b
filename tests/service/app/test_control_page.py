"""`backlog init`'s "backlog control" page on the sandbox: created once under the parent page with the button
recipe (URL, header, action) and the ranked view; found again by title with zero writes; never holds a secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from service.app.cli import app
from service.notion import NotionGateway
from service.pipelines.control_page import CONTROL_PAGE_TITLE, PLACEHOLDER_URL, ensure_control_page
from service.settings import Settings
from tests.service.pipelines.test_score import no_sleep

PUBLIC = "https://backlog.example.com"


def gateway_for(path: Path, **values: object) -> tuple[NotionGateway, Settings]:
    settings = Settings(backlog_sandbox_path=path, **values)  # type: ignore[arg-type]
    gateway = NotionGateway.from_settings(settings, sleep=no_sleep)
    gateway.init_database()
    return gateway, settings


def test_created_once_with_the_recipe_then_found_with_zero_writes(tmp_path: Path) -> None:
    gateway, settings = gateway_for(
        tmp_path / "s.sqlite3", backlog_public_url=PUBLIC + "/", backlog_api_token=SecretStr("tok-do-not-leak")
    )
    first = ensure_control_page(gateway, settings)
    assert first.action == "created"
    parent = gateway.parent_page_id()
    assert gateway.find_child_page(parent, CONTROL_PAGE_TITLE) == first.page_id
    texts = gateway.page_block_texts(str(first.page_id))
    for path in ("/actions/sync", "/actions/rescore", "/actions/report?sprint=N"):
        assert PUBLIC + path in texts  # a block of its own: the URL to paste, nothing else
    page = "\n".join(texts)
    assert "X-Backlog-Token" in page
    assert "BACKLOG_API_TOKEN" in page
    assert "tok-do-not-leak" not in page  # the secret is named, never written to Notion
    assert "Priority, Descending" in page
    assert PLACEHOLDER_URL not in page
    gateway.close()

    again, settings = gateway_for(tmp_path / "s.sqlite3", backlog_public_url=PUBLIC)
    writes = again.calls.writes
    second = ensure_control_page(again, settings)
    assert (second.action, second.page_id) == ("found", first.page_id)
    assert again.calls.writes == writes  # zero writes the second time
    again.close()


def test_without_a_public_url_the_page_shows_a_placeholder_and_says_so(tmp_path: Path) -> None:
    gateway, settings = gateway_for(tmp_path / "s.sqlite3")
    page = "\n".join(gateway.page_block_texts(str(ensure_control_page(gateway, settings).page_id)))
    assert PLACEHOLDER_URL + "/actions/sync" in page
    assert "BACKLOG_PUBLIC_URL is not set" in page
    gateway.close()


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    gateway, settings = gateway_for(tmp_path / "s.sqlite3")
    writes = gateway.calls.writes
    assert ensure_control_page(gateway, settings, dry_run=True).action == "would create"
    assert gateway.calls.writes == writes
    assert gateway.find_child_page(gateway.parent_page_id(), CONTROL_PAGE_TITLE) is None
    gateway.close()


def test_backlog_init_makes_the_control_page_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKLOG_SANDBOX_PATH", str(tmp_path / "sandbox.sqlite3"))
    monkeypatch.setenv("BACKLOG_LOCK_PATH", str(tmp_path / "run.lock"))
    monkeypatch.setenv("BACKLOG_LOG_LEVEL", "WARNING")
    runner = CliRunner()
    first = runner.invoke(app, ["init"])
    assert first.exit_code == 0, first.output
    assert "Control page (created)" in first.stdout
    second = runner.invoke(app, ["init"])
    assert second.exit_code == 0, second.output
    assert "Control page (found)" in second.stdout
    assert "writes 0)" in second.stderr
