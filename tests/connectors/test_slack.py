"""Slack connector: history pages + threads folded in, Slack's `ok: false` dialect, the channel -> account map,
and the workspace export (folder and .zip)."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from connectors.http import MalformedPayloadError, SourceAuthError, SourceConfigError, SourceNotFoundError
from connectors.slack import SlackConnector, message_link, slack_text
from service.pipelines.doctor import source_checks
from service.pipelines.sources import build_connector
from service.settings import Settings
from tests import REPO_ROOT
from tests.connectors.fake_time import FakeTime

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "sources" / "slack"
DEMO_EXPORT = REPO_ROOT / "deploy" / "demo" / "slack_export"
DEMO_CONFIG = REPO_ROOT / "deploy" / "demo" / "backlog.toml"
API = "https://slack.com/api"
TOKEN = "xoxb-test-secret-1234"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def make(fake: FakeTime | None = None, **settings: Any) -> SlackConnector:
    values: dict[str, Any] = {
        "slack_bot_token": TOKEN,
        "slack_channel_ids": ["C07PILOTGLX"],
        "backlog_config": DEMO_CONFIG,
        **settings,
    }
    fake = fake or FakeTime()
    connector = build_connector(Settings(**values), "slack", sleep=fake.sleep, clock=fake.clock)
    assert isinstance(connector, SlackConnector)
    return connector


def test_history_pages_threads_and_filters(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{API}/auth.test", json=fixture("auth_test.json"))
    httpx_mock.add_response(json=fixture("history_page1.json"))
    httpx_mock.add_response(json=fixture("replies.json"))
    httpx_mock.add_response(json=fixture("history_page2.json"))
    connector = make()

    signals = list(connector.read_api(None))

    thread, edited = signals  # the join, the bot and the app message are not rows
    assert thread.source_key == "slack:C07PILOTGLX:1793804531.000200"
    assert thread.url == "https://wavelength-pilots.slack.com/archives/C07PILOTGLX/p1793804531000200"
    assert thread.customer == "Globex Bank"  # from [sources.slack.channels]
    assert thread.votes == 2  # 👍 only, not 👀
    assert "@maya on your radar? see our dashboard (https://status.example.com/x)" in thread.text
    assert "Thread replies:\n- Thanks Priya, it is. Worse at peak?\n- yes, 9-11am is the worst" in thread.text
    assert "linked incident" not in thread.text  # a bot reply is not folded in
    assert thread.updated_at.timestamp() == pytest.approx(1793877640.0003)  # the last reply moved Last Seen
    assert edited.text.startswith("Could call summaries land in our Salesforce org automatically? Agents copy-paste")
    assert "&amp;" not in edited.text
    assert edited.updated_at.timestamp() == 1794480000.0  # the edit
    requests = httpx_mock.get_requests()
    assert requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert requests[2].url.path == "/api/conversations.replies"
    assert requests[2].url.params["ts"] == "1793804531.000200"
    assert requests[3].url.params["cursor"] == "bmV4dF90czoxNzkzODA2MDAwMDAwNDAw"
    assert connector.calls == 4


def test_not_in_channel_says_invite_the_bot_and_other_channels_still_read(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=fixture("auth_test.json"))
    httpx_mock.add_response(json={"ok": False, "error": "not_in_channel"})
    httpx_mock.add_response(json=fixture("history_page2.json"))
    connector = make(slack_channel_ids=["C07PILOTGLX", "C07PILOTACM"])
    seen = []

    with pytest.raises(SourceAuthError) as caught:
        seen.extend(connector.read_api(None))

    assert [s.source_key.split(":")[1] for s in seen] == ["C07PILOTACM"]
    assert "channel C07PILOTGLX: " in str(caught.value)
    assert "invite the bot" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_invalid_auth_stops_every_channel(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"ok": False, "error": "invalid_auth"})

    with pytest.raises(SourceAuthError) as caught:
        list(make(slack_channel_ids=["C1", "C2"]).read_api(None))

    assert "SLACK_BOT_TOKEN" in str(caught.value)
    assert caught.value.status == 401
    assert len(httpx_mock.get_requests()) == 1


def test_missing_scope_names_the_scope(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=fixture("auth_test.json"))
    httpx_mock.add_response(
        json={"ok": False, "error": "missing_scope", "needed": "groups:history", "provided": "channels:history"}
    )

    with pytest.raises(SourceAuthError) as caught:
        list(make().read_api(None))

    assert "groups:history" in str(caught.value)
    assert "Bot Token Scopes" in str(caught.value)


def test_channel_not_found_names_the_setting(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=fixture("auth_test.json"))
    httpx_mock.add_response(json={"ok": False, "error": "channel_not_found"})

    with pytest.raises(SourceNotFoundError, match="SLACK_CHANNEL_IDS"):
        list(make().read_api(None))


def test_ratelimited_waits_the_retry_after(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=fixture("auth_test.json"))
    httpx_mock.add_response(status_code=429, headers={"Retry-After": "12"}, json={"ok": False, "error": "ratelimited"})
    httpx_mock.add_response(json=fixture("history_page2.json"))
    fake = FakeTime()

    signals = list(make(fake).read_api(None))

    assert len(signals) == 1
    assert 12.0 in fake.sleeps


def test_demo_export_folder_and_zip_read_the_same(tmp_path: Path) -> None:
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(DEMO_EXPORT.rglob("*.json")):
            zipped.write(path, f"Wavelength Slack export/{path.relative_to(DEMO_EXPORT).as_posix()}")
    folder = make(slack_bot_token=None, slack_channel_ids=[], slack_export_path=DEMO_EXPORT)
    zipped_export = make(slack_bot_token=None, slack_channel_ids=[], slack_export_path=archive)

    from_folder = list(folder.read(None))
    from_zip = list(zipped_export.read(None))

    assert [s.source_key for s in from_folder] == [s.source_key for s in from_zip]
    assert len(from_folder) == 6  # a join, a bot message and three replies are not rows
    first = from_folder[0]
    assert first.customer == "Globex Bank"
    assert "@Maya Chen is that on your radar?" in first.text  # users.json names the mention
    assert "- yes, 9-11am is the worst" in first.text  # the reply from the next day's file is folded in
    assert folder.problems == []


def test_export_message_links_use_the_workspace_url_setting() -> None:
    connector = make(
        slack_bot_token=None, slack_export_path=DEMO_EXPORT, slack_workspace_url="https://wavelength-pilots.slack.com/"
    )
    signals = list(connector.read(None))
    assert {s.source_key.split(":")[1] for s in signals} == {"C07PILOTGLX"}  # SLACK_CHANNEL_IDS filters the export
    assert signals[0].url == "https://wavelength-pilots.slack.com/archives/C07PILOTGLX/p1793804531000000"


def test_export_errors_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "export"
    shutil.copytree(DEMO_EXPORT, broken)
    (broken / "ext-acme-health-pilot" / "2026-11-06.json").write_text('[{"ts": "1"},\n oops]', encoding="utf-8")

    with pytest.raises(MalformedPayloadError, match=r"ext-acme-health-pilot/2026-11-06.json:2"):
        list(make(slack_bot_token=None, slack_channel_ids=[], slack_export_path=broken).read(None))
    with pytest.raises(SourceConfigError, match="SLACK_EXPORT_PATH"):
        list(make(slack_bot_token=None, slack_export_path=tmp_path / "missing").read(None))
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(MalformedPayloadError, match="not a Slack workspace export"):
        list(make(slack_bot_token=None, slack_export_path=tmp_path / "notes.txt").read(None))


def test_doctor_probes_token_and_each_channel(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{API}/auth.test", json=fixture("auth_test.json"))
    httpx_mock.add_response(json={"ok": False, "error": "not_in_channel"})
    settings = Settings(slack_bot_token=TOKEN, slack_channel_ids=["C07PILOTGLX"], slack_export_path=DEMO_EXPORT)

    checks = source_checks(settings, "slack", None)

    assert [(c.name, c.ok) for c in checks] == [("export file", True), ("token", True), ("channel C07PILOTGLX", False)]
    assert "wavelength-pilots.slack.com" in checks[1].detail
    assert "invite the bot" in checks[2].detail


def test_text_and_links() -> None:
    assert slack_text("<!here> ping <#C1|general> &lt;3") == "@here ping #general <3"
    assert message_link(None, "C1", "1.2") is None


def test_doctor_says_the_channels_are_missing() -> None:
    checks = source_checks(Settings(slack_bot_token=TOKEN), "slack", None)
    assert [(c.name, c.ok) for c in checks] == [("channels", False)]
    assert "SLACK_CHANNEL_IDS" in checks[0].fix
