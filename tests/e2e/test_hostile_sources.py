"""A hostile source next to two healthy ones, through the real CLI: `backlog sync` with GitHub served by a
loopback server that hangs, trickles, answers HTML or truncated JSON, or 429s without Retry-After, and the Zendesk
and Discord demo exports. The healthy rows land, the bad source is named with its failure, the run ends within
its deadline (short ones set through the environment, as an operator would), and the exit code is 1."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.app.cli import app
from tests.connectors.http.loopback import hostile_server
from tests.fakes.sandbox_helpers import DEMO_CONFIG, DEMO_EXPORTS, DEMO_ITEMS, sandbox_settings, source_key_counts

TIMEOUT_S = 0.8  # BACKLOG_SOURCE_TIMEOUT_S
RETRIES = 1  # BACKLOG_SOURCE_MAX_RETRIES
# Two attempts at the total deadline, one back-off (<= 0.5 s), plus Notion writes and start-up on a busy host.
RUN_BUDGET_S = 2 * TIMEOUT_S + 0.5 + 6.0

# mode -> what the sync summary must say about GitHub
FAILURES = {
    "hang": r"total deadline of 0\.8s",
    "trickle": r"total deadline of 0\.8s",
    "html": r"returned an HTML page",
    "truncated": r"returned truncated or invalid JSON",
    "429": r"still failing after 2 attempts \(rate limited",
}


def flat(text: str) -> str:
    """The output without the table's line breaks and borders, so a wrapped message still matches."""
    return re.sub(r"[\s│┃|]+", " ", text)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    values = {
        "BACKLOG_SANDBOX_PATH": tmp_path / "sandbox.sqlite3",
        "BACKLOG_LOCK_PATH": tmp_path / "run.lock",
        "BACKLOG_CACHE_DIR": tmp_path / "cache",
        "BACKLOG_CONFIG": DEMO_CONFIG,
        "BACKLOG_SOURCE_TIMEOUT_S": TIMEOUT_S,
        "BACKLOG_SOURCE_MAX_RETRIES": RETRIES,
        "BACKLOG_LOG_LEVEL": "WARNING",
        "NOTION_RATE_LIMIT": 1000,
        "ZENDESK_EXPORT_PATH": DEMO_EXPORTS["zendesk_export_path"],
        "DISCORD_EXPORT_PATH": DEMO_EXPORTS["discord_export_path"],
        "GITHUB_REPOS": "acme/open-voice",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, str(value))
    assert CliRunner().invoke(app, ["init"]).exit_code == 0
    return tmp_path


@pytest.mark.parametrize("mode", list(FAILURES))
def test_a_hostile_source_is_named_while_the_healthy_rows_land_and_the_run_exits_1(
    mode: str, env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with hostile_server(mode, trickle_every_s=0.1) as github:
        monkeypatch.setenv("GITHUB_API_URL", github.url)
        began = time.monotonic()
        result = CliRunner().invoke(app, ["sync"])
        elapsed = time.monotonic() - began
        assert github.paths, "the loopback GitHub was never asked"

    output = flat(result.output)
    assert result.exit_code == 1, output
    assert elapsed < RUN_BUDGET_S, f"{mode}: the run took {elapsed:.1f}s"
    assert re.search(r"github failed", output), output
    assert re.search(FAILURES[mode], output), output
    counts = source_key_counts(sandbox_settings(env, demo_exports=False))
    by_source = {name: sum(1 for key in counts if key.startswith(f"{name}:")) for name in ("zendesk", "discord")}
    assert by_source == {"zendesk": DEMO_ITEMS["zendesk"], "discord": DEMO_ITEMS["discord"]}
    assert max(counts.values()) == 1
    assert not any(key.startswith("github:") for key in counts)
