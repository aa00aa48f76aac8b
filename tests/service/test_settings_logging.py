from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from service.logging import configure_logging, get_logger, register_secrets
from service.settings import Settings, settings_table
from tests import REPO_ROOT


def test_comma_lists_and_sandbox_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZENDESK_TAGS", "feature-request, voice-agents ,")
    monkeypatch.setenv("GITHUB_REPOS", "acme/open-voice,acme/sdk")
    settings = Settings.load()
    assert settings.zendesk_tags == ["feature-request", "voice-agents"]
    assert settings.github_repos == ["acme/open-voice", "acme/sdk"]
    assert settings.uses_sandbox
    monkeypatch.setenv("NOTION_TOKEN", "ntn_realtoken123")
    assert not Settings.load().uses_sandbox


def test_secrets_dir_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "notion_token").write_text("ntn_from_k8s_secret")
    monkeypatch.setenv("BACKLOG_SECRETS_DIR", str(tmp_path))
    settings = Settings.load()
    assert settings.notion_token is not None
    assert settings.notion_token.get_secret_value() == "ntn_from_k8s_secret"
    assert "ntn_from_k8s_secret" not in repr(settings)


def test_settings_table_lists_every_setting() -> None:
    names = [row[0] for row in settings_table()]
    assert "NOTION_TOKEN" in names
    assert "DISCORD_EXPORT_PATH" in names
    assert len(names) == len(Settings.model_fields)


def test_log_lines_never_carry_secrets() -> None:
    out = io.StringIO()
    register_secrets([SecretStr("zd-token-5678")])
    configure_logging(fmt="json", stream=out)
    get_logger("t").error(
        "boom",
        api_token="plain-value",
        detail="request failed with zd-token-5678 and Bearer abcdefghijkl",
        headers={"Authorization": "Basic dXNlcjpwYXNz"},
        secret=SecretStr("hidden"),
    )
    line = out.getvalue()
    record = json.loads(line)
    for leaked in ("plain-value", "zd-token-5678", "abcdefghijkl", "dXNlcjpwYXNz", "hidden"):
        assert leaked not in line
    assert record["event"] == "boom"


def test_readme_documents_every_setting() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name, _, _ in settings_table() if f"`{name}`" not in readme]
    assert missing == [], f"add these settings to README.md's table: {missing}"


def test_get_logger_filters_below_the_configured_level_and_binds_context() -> None:
    out = io.StringIO()
    configure_logging(level="WARNING", fmt="json", stream=out)
    log = get_logger("t").bind(source="zendesk")

    log.info("dropped")
    log.warning("kept", rows=2)

    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["event"], r["source"], r["rows"], r["level"]) for r in records] == [("kept", "zendesk", 2, "warning")]
