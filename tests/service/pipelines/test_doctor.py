"""`backlog doctor` against the in-process sandbox and faked sources (pytest-httpx): each failing check names the
setting or permission to fix, and the CLI's exit code is non-zero only when a required (Notion) check fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from pytest_httpx import HTTPXMock
from typer.testing import CliRunner

from connectors.discord import MESSAGE_CONTENT as DISCORD_MESSAGE_CONTENT
from service.notion import RowWrite
from service.pipelines.doctor import Check, notion_checks, run_checks
from service.sandbox import Sandbox
from service.settings import Settings
from tests.service.pipelines.test_score import new_gateway

ZENDESK = "https://acme.zendesk.com"
GITHUB = "https://api.github.com"
DISCORD = "https://discord.com/api/v10"
NOTION_FAKE = "https://notion.test"
CHANNEL = "1203998877665544"
BAD_NOTION_TOKEN = "ntn_revoked_token_value_123"  # fake; the test checks it never reaches the output
SOURCE_SECRETS = ("zd-api-token-456", "ghp_readonly_789", "discord-bot-token-abc")


def all_sources(sandbox_path: Path, **overrides: Any) -> Settings:
    """Sandbox Notion plus Zendesk, GitHub and Discord configured for their live APIs."""
    values: dict[str, Any] = {
        "backlog_sandbox_path": sandbox_path,
        "zendesk_url": ZENDESK,
        "zendesk_email": "pm@acme.example",
        "zendesk_api_token": SecretStr(SOURCE_SECRETS[0]),
        "github_repos": ["acme/open-voice"],
        "github_token": SecretStr(SOURCE_SECRETS[1]),
        "discord_bot_token": SecretStr(SOURCE_SECRETS[2]),
        "discord_channel_ids": [CHANNEL],
    }
    values.update(overrides)
    return Settings(**values)


def fake_sources(
    httpx_mock: HTTPXMock,
    *,
    zendesk_role: str = "admin",
    discord_flags: int = DISCORD_MESSAGE_CONTENT,
    channel: int = 200,
) -> None:
    httpx_mock.add_response(url=f"{ZENDESK}/api/v2/users/me.json", json={"user": {"id": 7, "role": zendesk_role}})
    httpx_mock.add_response(
        url=f"{GITHUB}/repos/acme/open-voice", json={"full_name": "acme/open-voice", "has_issues": True}
    )
    httpx_mock.add_response(url=f"{DISCORD}/applications/@me", json={"id": "42", "flags": discord_flags})
    if channel == 200:
        httpx_mock.add_response(url=f"{DISCORD}/channels/{CHANNEL}", json={"id": CHANNEL, "type": 0})
    else:
        httpx_mock.add_response(
            url=f"{DISCORD}/channels/{CHANNEL}", status_code=channel, json={"message": "Missing Access", "code": 50001}
        )


def by_name(checks: list[Check]) -> dict[tuple[str, str], Check]:
    return {(check.area, check.name): check for check in checks}


@pytest.fixture
def sandbox_path(tmp_path: Path) -> Path:
    path = tmp_path / "s.sqlite3"
    with new_gateway(path) as gateway:
        gateway.init_database()  # `backlog init` was run
    return path


def test_everything_configured_and_permitted_passes(sandbox_path: Path, httpx_mock: HTTPXMock) -> None:
    fake_sources(httpx_mock)
    checks = run_checks(all_sources(sandbox_path))
    failing = [check for check in checks if not check.ok]
    assert failing == []
    names = by_name(checks)
    assert names[("notion", "database schema")].ok
    assert names[("zendesk", "auth + admin rights")].ok
    assert names[("github", "repo acme/open-voice")].ok
    assert names[("discord", "token + message content")].ok
    assert names[("discord", f"channel {CHANNEL}")].ok


def test_missing_permissions_each_name_their_fix(sandbox_path: Path, httpx_mock: HTTPXMock) -> None:
    fake_sources(httpx_mock, zendesk_role="agent", discord_flags=0, channel=403)
    checks = by_name(run_checks(all_sources(sandbox_path)))

    zendesk = checks[("zendesk", "auth + admin rights")]
    assert not zendesk.ok
    assert "'agent'" in zendesk.detail
    assert "admin" in zendesk.fix

    intent = checks[("discord", "token + message content")]
    assert not intent.ok
    assert "Message Content Intent" in intent.fix

    channel = checks[("discord", f"channel {CHANNEL}")]
    assert not channel.ok
    assert "403" in channel.detail
    assert "View Channel" in channel.fix
    assert CHANNEL in channel.fix

    assert checks[("github", "repo acme/open-voice")].ok  # one source's problem does not hide the others
    assert not any(check.required and not check.ok for check in checks.values())  # sources are not required
    text = repr(list(checks.values()))
    assert not any(secret in text for secret in SOURCE_SECRETS)


def test_bad_notion_token_fails_the_required_check_naming_notion_token(tmp_path: Path, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        method="GET",
        url=f"{NOTION_FAKE}/v1/users/me",
        status_code=401,
        json={"object": "error", "status": 401, "code": "unauthorized", "message": "API token is invalid."},
    )
    settings = Settings(
        notion_token=SecretStr(BAD_NOTION_TOKEN), notion_api_url=NOTION_FAKE, backlog_sandbox_path=tmp_path / "x"
    )
    checks = run_checks(settings)
    token = by_name(checks)[("notion", "token")]
    assert not token.ok
    assert token.required
    assert "NOTION_TOKEN" in token.detail
    assert "NOTION_TOKEN" in token.fix
    assert BAD_NOTION_TOKEN not in repr(checks)
    assert [check.area for check in checks] == ["notion"]  # no source configured, nothing else probed


def test_cli_exits_non_zero_when_a_required_check_fails(
    tmp_path: Path, httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.app.cli import app

    httpx_mock.add_response(
        url=f"{NOTION_FAKE}/v1/users/me",
        status_code=401,
        json={"object": "error", "status": 401, "code": "unauthorized", "message": "API token is invalid."},
    )
    monkeypatch.setenv("NOTION_TOKEN", BAD_NOTION_TOKEN)
    monkeypatch.setenv("NOTION_API_URL", NOTION_FAKE)
    monkeypatch.setenv("BACKLOG_SANDBOX_PATH", str(tmp_path / "unused.sqlite3"))
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1, result.output
    assert "NOTION_TOKEN" in result.output
    assert BAD_NOTION_TOKEN not in result.output


def test_cli_exits_non_zero_before_backlog_init_and_zero_after(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from service.app.cli import app

    initialised = tmp_path / "initialised.sqlite3"
    with new_gateway(initialised) as gateway:  # before the CLI configures logging onto the runner's stream
        gateway.init_database()

    monkeypatch.setenv("BACKLOG_SANDBOX_PATH", str(tmp_path / "fresh.sqlite3"))
    before = CliRunner().invoke(app, ["doctor"])
    assert before.exit_code == 1, before.output
    assert "backlog init" in before.output

    monkeypatch.setenv("BACKLOG_SANDBOX_PATH", str(initialised))
    after = CliRunner().invoke(app, ["doctor"])
    assert after.exit_code == 0, after.output


def test_source_checks_use_the_connectors_own_url_and_credentials(sandbox_path: Path, httpx_mock: HTTPXMock) -> None:
    """`ZENDESK_URL=acme` is the same https://acme.zendesk.com doctor probes and sync reads (one config slice);
    a GitHub URL without a scheme is a failed check naming GITHUB_API_URL, not a retried network error."""
    httpx_mock.add_response(url=f"{ZENDESK}/api/v2/users/me.json", json={"user": {"id": 7, "role": "admin"}})
    httpx_mock.add_response(url=f"{DISCORD}/applications/@me", json={"id": "42", "flags": DISCORD_MESSAGE_CONTENT})
    httpx_mock.add_response(url=f"{DISCORD}/channels/{CHANNEL}", json={"id": CHANNEL, "type": 0})

    checks = by_name(run_checks(all_sources(sandbox_path, zendesk_url="acme", github_api_url="api.github.com")))

    assert checks[("zendesk", "auth + admin rights")].ok
    github = checks[("github", "reachable")]
    assert not github.ok
    assert "GITHUB_API_URL='api.github.com'" in github.detail
    assert "https://api.github.com" in github.detail
    assert all(request.url.host != "api.github.com" for request in httpx_mock.get_requests())


# --- block cap and budget -------------------------------------------------------------------------------------


def notion_only(sandbox_path: Path, **overrides: Any) -> dict[tuple[str, str], Check]:

    return by_name(notion_checks(Settings(backlog_sandbox_path=sandbox_path, **overrides), None))


def test_a_single_member_workspace_has_no_block_cap_and_an_unset_budget_is_unlimited(sandbox_path: Path) -> None:
    checks = notion_only(sandbox_path)
    cap, budget = checks[("notion", "block cap")], checks[("notion", "block budget")]
    assert checks[("notion", "api version")].detail.startswith("Notion-Version 2026-03-11 (NOTION_API_VERSION")
    assert cap.ok
    assert "single-member workspace has no block cap" in cap.detail
    assert budget.ok
    assert budget.detail == "NOTION_BLOCK_BUDGET unset: unlimited"
    assert not cap.required
    assert not budget.required


def test_with_more_members_doctor_says_it_cannot_tell_the_plan(sandbox_path: Path) -> None:

    Sandbox(sandbox_path, block_limit=1000)  # a capped sandbox lists a second member

    cap = notion_only(sandbox_path)[("notion", "block cap")]

    assert cap.ok
    assert cap.detail.startswith("cannot tell: 2 members, and the API does not show the plan")
    assert "NOTION_BLOCK_BUDGET=1000" in cap.fix


def test_the_budget_warns_at_80_percent_of_the_blocks_the_database_uses(sandbox_path: Path) -> None:
    with new_gateway(sandbox_path) as gateway:
        gateway.upsert([RowWrite(f"manual:{n}", {"Name": f"row {n}"}) for n in range(7)])

    under = notion_only(sandbox_path, notion_block_budget=11)[("notion", "block budget")]  # 8 of 11: 72 %
    over = notion_only(sandbox_path, notion_block_budget=10)[("notion", "block budget")]  # 8 of 10: 80 %

    assert under.ok
    assert "at least 8 of NOTION_BLOCK_BUDGET=11 blocks used" in under.detail
    assert not over.ok
    assert not over.required
    assert "8 of NOTION_BLOCK_BUDGET=10 blocks used (80 %)" in over.detail


def test_the_row_cache_check_says_what_the_next_run_reads(sandbox_path: Path, tmp_path: Path) -> None:
    """At 3 a.m., "why did this run read every row?" is answered by doctor, from the cache file alone."""
    cache = tmp_path / "cache"
    cold = notion_only(sandbox_path, backlog_cache_dir=cache)[("cache", "row cache")]
    with new_gateway(sandbox_path, backlog_cache_dir=cache) as gateway:
        gateway.upsert([RowWrite(f"manual:{n}", {"Name": f"row {n}"}) for n in range(3)])
        gateway.read_rows()
    warm_checks = notion_only(sandbox_path, backlog_cache_dir=cache)
    warm = warm_checks[("cache", "row cache")]
    (cache / next(p.name for p in cache.glob("rows-*.sqlite3"))).write_bytes(b"not sqlite")
    broken = notion_only(sandbox_path, backlog_cache_dir=cache)[("cache", "row cache")]

    assert cold.ok
    assert "no row cache yet" in cold.detail
    assert "the next run reads every row once" in cold.detail
    assert warm.detail.startswith("3 rows; last full read 0.0 h ago, next in 24.0 h (BACKLOG_FULL_READ_HOURS=24)")
    assert not warm.required
    assert "unreadable or from another version" in broken.detail
    assert ("cache", "own edits") not in warm_checks  # `backlog init` made "Last edited by": own writes are skipped
