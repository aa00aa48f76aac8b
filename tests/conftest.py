"""Shared fixtures. No test reaches the network: HTTP is faked with pytest-httpx or served by the sandbox."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog

SETTING_PREFIXES = ("NOTION_", "BACKLOG_", "ZENDESK_", "G2_", "GONG_", "GITHUB_", "DISCORD_")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests never see the developer's real settings (or a .env in the working directory)."""
    import os

    for key in list(os.environ):
        if key.startswith(SETTING_PREFIXES):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    structlog.reset_defaults()  # a test that configured logging onto a captured stream must not leak it
