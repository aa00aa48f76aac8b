"""Discord connector: channel messages by `after` snowflake, forum posts, Discord's 429 dialect, failures, export."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from pytest_httpx import HTTPXMock

from connectors.discord import DiscordConnector, discord_decide, snowflake_after, snowflake_time
from connectors.http import (
    MalformedPayloadError,
    PaginationLoopError,
    ResponseAction,
    SourceAuthError,
)
from connectors.signal import KindHint
from service.settings import Settings
from tests import REPO_ROOT

API = "https://discord.com/api/v10"
GUILD = "1100000000000000001"
TEXT = "1100000000000000100"
FORUM = "1100000000000000200"
DEMO = REPO_ROOT / "deploy" / "demo" / "discord_export.json"


def flake(when: datetime, seq: int = 0) -> str:
    """A snowflake minted at `when` (what Discord would give a message sent then)."""
    return str(((int(when.timestamp() * 1000) - 1_420_070_400_000) << 22) + seq)


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def message(msg_id: str, content: str, *, channel: str = TEXT, **extra: Any) -> dict[str, Any]:
    """A REST message object (`GET /channels/{id}/messages`), trimmed to what Discord always sends."""
    created = snowflake_time(msg_id)
    assert created is not None
    item: dict[str, Any] = {
        "id": msg_id,
        "type": 0,
        "channel_id": channel,
        "content": content,
        "author": {"id": "80351110224678912", "username": "nelly", "global_name": "Nelly", "avatar": None},
        "attachments": [],
        "embeds": [],
        "mentions": [],
        "mention_roles": [],
        "pinned": False,
        "mention_everyone": False,
        "tts": False,
        "timestamp": created.isoformat(),
        "edited_timestamp": None,
        "flags": 0,
        "components": [],
    }
    item.update(extra)
    return item


def channel(channel_id: str, kind: int, **extra: Any) -> dict[str, Any]:
    return {"id": channel_id, "type": kind, "guild_id": GUILD, "name": "feature-requests", "position": 3, **extra}


class SmallPages(DiscordConnector):
    """Two messages a page, so pagination is visible with a handful of fixtures."""

    page_size: ClassVar[int] = 2


def make(
    channels: list[str] | None = None, cls: type[DiscordConnector] = DiscordConnector, **overrides: Any
) -> tuple[DiscordConnector, list[float]]:
    slept: list[float] = []
    values: dict[str, Any] = {"discord_bot_token": "MTA.bot-token-secret", "discord_channel_ids": channels or [TEXT]}
    values.update(overrides)
    return cls(Settings(**values).discord_config(), sleep=slept.append), slept


def messages_url(channel_id: str, after: str, limit: int = 100) -> str:
    return f"{API}/channels/{channel_id}/messages?limit={limit}&after={after}"


def test_text_channel_pages_oldest_first_until_a_short_page(httpx_mock: HTTPXMock) -> None:
    ids = [flake(at(3), 1), flake(at(4), 2), flake(at(5), 3)]
    httpx_mock.add_response(
        url=f"{API}/channels/{TEXT}", json=channel(TEXT, 0), match_headers={"Authorization": "Bot MTA.bot-token-secret"}
    )
    httpx_mock.add_response(
        url=messages_url(TEXT, "0", 2),
        json=[message(ids[1], "Spanish voice agents please"), message(ids[0], "Latency is too high on first reply")],
    )
    httpx_mock.add_response(url=messages_url(TEXT, ids[1], 2), json=[message(ids[2], "Custom wake word?")])
    connector, _ = make(cls=SmallPages)

    signals = list(connector.read_api(None))

    assert [s.external_id for s in signals] == ids
    assert signals[0].url == f"https://discord.com/channels/{GUILD}/{TEXT}/{ids[0]}"
    assert signals[0].title == "Latency is too high on first reply"
    assert signals[0].created_at == at(3)
    assert connector.calls == 3


def test_since_becomes_the_after_snowflake_and_includes_messages_at_since(httpx_mock: HTTPXMock) -> None:
    since = at(10)
    exactly_at_since = flake(since, 0)
    after = snowflake_after(since)
    assert after == ((int(since.timestamp() * 1000) - 1_420_070_400_000) << 22) - 1
    httpx_mock.add_response(url=f"{API}/channels/{TEXT}", json=channel(TEXT, 0))
    httpx_mock.add_response(url=messages_url(TEXT, str(after)), json=[message(exactly_at_since, "HIPAA BAA?")])
    connector, _ = make()

    assert [s.external_id for s in connector.read_api(since)] == [exactly_at_since]


def test_repeated_page_is_a_pagination_loop(httpx_mock: HTTPXMock) -> None:
    same = [message(flake(at(4), 2), "b"), message(flake(at(3), 1), "a")]
    httpx_mock.add_response(url=f"{API}/channels/{TEXT}", json=channel(TEXT, 0))
    httpx_mock.add_response(url=messages_url(TEXT, "0", 2), json=same)
    httpx_mock.add_response(url=messages_url(TEXT, flake(at(4), 2), 2), json=same, is_reusable=True)
    connector, _ = make(cls=SmallPages)

    with pytest.raises(PaginationLoopError, match="twice"):
        list(connector.read_api(None))


def test_bots_system_messages_and_vote_counting(httpx_mock: HTTPXMock) -> None:
    human = message(
        flake(at(6), 1),
        "<@42> +1, webhook deliveries keep failing and are never retried",
        mentions=[{"id": "42", "username": "pm-sarah", "global_name": "Sarah"}],
        reactions=[
            {"count": 5, "me": False, "emoji": {"id": None, "name": "👍"}},
            {"count": 2, "me": False, "emoji": {"id": None, "name": "👍🏽"}},
            {"count": 3, "me": False, "emoji": {"id": "9", "name": "upvote"}},
            {"count": 4, "me": False, "emoji": {"id": None, "name": "😂"}},
        ],
        edited_timestamp=at(7).isoformat(),
    )
    bot = message(
        flake(at(6), 2), "Thanks! A moderator will look.", author={"id": "1", "username": "mee6", "bot": True}
    )
    join = message(flake(at(6), 3), "", type=7)
    httpx_mock.add_response(url=f"{API}/channels/{TEXT}", json=channel(TEXT, 0))
    httpx_mock.add_response(url=messages_url(TEXT, "0"), json=[join, bot, human])
    connector, _ = make()

    [signal] = list(connector.read_api(None))

    assert signal.votes == 10
    assert signal.text.startswith("@Sarah +1, webhook")
    assert signal.kind_hint is KindHint.BUG
    assert signal.updated_at == at(7)
    assert connector.notices == []


def test_empty_content_is_not_stored_and_reported_once(httpx_mock: HTTPXMock) -> None:
    other = "1100000000000000101"
    for channel_id, seq in ((TEXT, 1), (other, 5)):
        httpx_mock.add_response(url=f"{API}/channels/{channel_id}", json=channel(channel_id, 0))
        httpx_mock.add_response(
            url=messages_url(channel_id, "0"),
            json=[message(flake(at(8), seq), "", channel=channel_id), message(flake(at(8), seq + 1), "")],
        )
    connector, _ = make([TEXT, other])

    assert list(connector.read_api(None)) == []
    expected = (
        "Discord: 4 messages had empty content — enable the Message Content Intent for the bot in the Discord"
        " Developer Portal (Bot > Privileged Gateway Intents)"
    )
    assert connector.notices == [expected]


def test_forum_posts_active_and_archived_with_starter_messages(httpx_mock: HTTPXMock) -> None:
    active_post = flake(at(12), 1)
    other_forum_post = flake(at(12), 2)
    archived_new = flake(at(9), 3)
    archived_old = flake(at(2), 4)
    deleted_starter = flake(at(11), 5)
    forum = channel(FORUM, 15, available_tags=[{"id": "77", "name": "Bug", "moderated": False}])

    def thread(thread_id: str, name: str, parent: str = FORUM, **meta: Any) -> dict[str, Any]:
        return {
            "id": thread_id,
            "type": 11,
            "guild_id": GUILD,
            "parent_id": parent,
            "name": name,
            "last_message_id": meta.pop("last_message_id", thread_id),
            "applied_tags": meta.pop("applied_tags", []),
            "thread_metadata": {"archived": bool(meta), "auto_archive_duration": 10080, "locked": False, **meta},
        }

    httpx_mock.add_response(url=f"{API}/channels/{FORUM}", json=forum)
    httpx_mock.add_response(
        url=f"{API}/guilds/{GUILD}/threads/active",
        json={
            "threads": [
                thread(active_post, "Escalate to a human agent", applied_tags=["77"], last_message_id=flake(at(14))),
                thread(other_forum_post, "Not ours", parent="1100000000000000999"),
                thread(deleted_starter, "Gone"),
            ],
            "members": [],
        },
    )
    httpx_mock.add_response(
        url=f"{API}/channels/{FORUM}/threads/archived/public?limit=100",
        json={
            "threads": [thread(archived_new, "SOC 2 report for procurement", archive_timestamp=at(13).isoformat())],
            "members": [],
            "has_more": True,
        },
    )
    httpx_mock.add_response(
        url=f"{API}/channels/{FORUM}/threads/archived/public?limit=100&before={at(13).isoformat().replace('+', '%2B')}",
        json={
            "threads": [thread(archived_old, "Old", archive_timestamp=at(5).isoformat())],
            "members": [],
            "has_more": True,  # stops anyway: archived before `since`
        },
    )
    for post in (active_post, archived_new):
        httpx_mock.add_response(
            url=f"{API}/channels/{post}/messages/{post}", json=message(post, "Details of the post", channel=post)
        )
    httpx_mock.add_response(
        url=f"{API}/channels/{deleted_starter}/messages/{deleted_starter}",
        status_code=404,
        json={"message": "Unknown Message", "code": 10008},
    )
    connector, _ = make([FORUM])

    signals = list(connector.read_api(at(8)))

    assert [(s.external_id, s.title) for s in signals] == [
        (active_post, "Escalate to a human agent"),
        (archived_new, "SOC 2 report for procurement"),
    ]
    assert signals[0].url == f"https://discord.com/channels/{GUILD}/{active_post}/{active_post}"
    assert signals[0].kind_hint is KindHint.BUG  # from the forum tag
    assert signals[0].updated_at == at(14)  # the thread's last reply keeps the post fresh
    assert [p.where for p in connector.problems] == [f"{API}/channels/{deleted_starter}/messages/{deleted_starter}"]


def test_429_waits_for_the_json_retry_after_and_an_exhausted_bucket_waits_too(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=f"{API}/channels/{TEXT}",
        status_code=429,
        json={"message": "You are being rate limited.", "retry_after": 1.5, "global": False},
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "1.5", "Retry-After": "2"},
    )
    httpx_mock.add_response(
        url=f"{API}/channels/{TEXT}",
        json=channel(TEXT, 0),
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "0.25"},
    )
    httpx_mock.add_response(url=messages_url(TEXT, "0"), json=[])
    connector, slept = make()

    assert list(connector.read_api(None)) == []
    assert slept == [1.5, 0.25]


def test_discord_decide_falls_back_to_bucket_header_without_json() -> None:
    request = httpx.Request("GET", f"{API}/channels/{TEXT}")
    cloudflare = httpx.Response(429, text="<html>slow down</html>", headers={"X-RateLimit-Reset-After": "3.2"})
    cloudflare.request = request

    decision = discord_decide(cloudflare)

    assert decision.action is ResponseAction.RATE_LIMITED
    assert decision.wait_s == 3.2


def test_server_error_is_retried_then_succeeds(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{API}/channels/{TEXT}", status_code=503)
    httpx_mock.add_response(url=f"{API}/channels/{TEXT}", json=channel(TEXT, 0))
    httpx_mock.add_response(url=messages_url(TEXT, "0"), json=[message(flake(at(3)), "Okta SSO")])
    connector, slept = make()

    assert len(list(connector.read_api(None))) == 1
    assert len(slept) == 1


def test_401_names_the_bot_token_setting_and_hides_it(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=f"{API}/channels/{TEXT}", status_code=401, json={"message": "401: Unauthorized", "code": 0}
    )
    connector, _ = make([TEXT, "1100000000000000555"])  # the second channel is never asked

    with pytest.raises(SourceAuthError, match="DISCORD_BOT_TOKEN") as caught:
        list(connector.read_api(None))
    assert "bot-token-secret" not in str(caught.value)


def test_403_names_the_channel_and_permissions_and_other_channels_are_read(httpx_mock: HTTPXMock) -> None:
    hidden = "1100000000000000666"
    httpx_mock.add_response(
        url=f"{API}/channels/{hidden}", status_code=403, json={"message": "Missing Access", "code": 50001}
    )
    httpx_mock.add_response(url=f"{API}/channels/{TEXT}", json=channel(TEXT, 0))
    httpx_mock.add_response(url=messages_url(TEXT, "0"), json=[message(flake(at(3)), "Dark mode")])
    connector, _ = make([hidden, TEXT])

    got: list[str] = []
    with pytest.raises(SourceAuthError) as caught:
        got.extend(s.title for s in connector.read_api(None))
    assert got == ["Dark mode"]
    assert re.search(rf"channel {hidden} .*View Channel / Read Message History", str(caught.value))


def test_malformed_payload(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{API}/channels/{TEXT}", json=channel(TEXT, 0))
    httpx_mock.add_response(url=messages_url(TEXT, "0"), json={"messages": []})
    connector, _ = make()

    with pytest.raises(MalformedPayloadError, match="expected a JSON array of messages"):
        list(connector.read_api(None))


def export_message(msg_id: str, content: str, **extra: Any) -> dict[str, Any]:
    """One DiscordChatExporter (--format Json) message."""
    item: dict[str, Any] = {
        "id": msg_id,
        "type": "Default",
        "timestamp": "2026-11-05T10:00:00.123+01:00",
        "timestampEdited": None,
        "callEndedTimestamp": None,
        "isPinned": False,
        "content": content,
        "author": {"id": "555", "name": "builder", "discriminator": "0000", "nickname": "Builder", "isBot": False},
        "attachments": [],
        "embeds": [],
        "stickers": [],
        "reactions": [{"emoji": {"id": "", "name": "👍", "code": "thumbsup", "isAnimated": False}, "count": 3}],
        "mentions": [],
    }
    item.update(extra)
    return item


def export(channel_id: str, messages: list[dict[str, Any]], **channel_extra: Any) -> dict[str, Any]:
    return {
        "guild": {"id": GUILD, "name": "Wavelength Community", "iconUrl": "https://cdn.discordapp.com/x.png"},
        "channel": {
            "id": channel_id,
            "type": "GuildTextChat",
            "categoryId": "1",
            "category": "Feedback",
            "name": "feature-requests",
            "topic": None,
            **channel_extra,
        },
        "dateRange": {"after": None, "before": None},
        "exportedAt": "2026-11-20T09:00:00+00:00",
        "messages": messages,
        "messageCount": len(messages),
    }


def test_export_file_with_several_channels_reports_the_bad_message_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "discord.json"
    text_export = export(
        TEXT,
        [
            export_message("1001", "Salesforce integration would be great"),
            export_message("1002", "joined", type="GuildMemberJoin"),
            export_message("1003", "I am a bot", author={"id": "1", "name": "mee6", "isBot": True}),
            export_message("1004", "bad", timestamp="last Tuesday"),
            export_message("1005", "We will cancel our plan if latency stays like this", timestampEdited=None),
        ],
    )
    forum_post = export(
        "2001",
        [export_message("2001", "Please add a custom analytics dashboard"), export_message("2002", "me too")],
        type="GuildPublicThread",
        category="feature-forum",
        name="Custom analytics dashboard",
    )
    path.write_text(json.dumps([text_export, forum_post]))
    connector, _ = make(discord_export_path=path, discord_bot_token=None)

    signals = list(connector.read_export(None))

    assert [s.external_id for s in signals] == ["1001", "1005", "2001"]
    assert signals[0].created_at == datetime(2026, 11, 5, 9, 0, 0, 123000, tzinfo=UTC)
    assert signals[0].votes == 3
    assert signals[0].url == f"https://discord.com/channels/{GUILD}/{TEXT}/1001"
    assert signals[1].tags == ("churn-risk",)
    assert signals[2].title == "Custom analytics dashboard"
    assert [p.where for p in connector.problems] == [f"{path}:export 0 message 3"]
    assert "last Tuesday" in connector.problems[0].message


def test_a_message_type_that_is_not_a_name_is_skipped_not_a_crash(tmp_path: Path) -> None:
    """Found by mutating the demo export: a `type` that is an object or a list (no exporter writes one) used to
    raise TypeError (unhashable) and end the whole sync."""
    path = tmp_path / "discord.json"
    messages = [
        export_message("1001", "Please add SSO", type={"name": "Default"}),
        export_message("1002", "Webhooks for call events", type=["Default"]),
        export_message("1003", "Salesforce integration would be great"),
    ]
    path.write_text(json.dumps(export(TEXT, messages)))
    connector, _ = make(discord_export_path=path, discord_bot_token=None)

    assert [s.external_id for s in connector.read_export(None)] == ["1003"]


def test_export_that_is_not_a_chat_export_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "discord.json"
    path.write_text(json.dumps({"channel_id": "123", "messages": [{"message": "hi"}]}))
    connector, _ = make(discord_export_path=path)

    with pytest.raises(MalformedPayloadError, match="not a DiscordChatExporter JSON export"):
        list(connector.read_export(None))


def test_demo_export_is_clean_and_in_the_cycle(tmp_path: Path) -> None:
    connector, _ = make(discord_export_path=DEMO, discord_bot_token=None)

    signals = list(connector.read_export(None))

    assert 8 <= len(signals) <= 16
    assert connector.problems == []
    assert len({s.external_id for s in signals}) == len(signals)
    assert all(at(1, 0) <= s.created_at <= s.updated_at < at(21, 0) for s in signals)
    assert all(s.url and s.url.startswith("https://discord.com/channels/") for s in signals)
    assert any("churn-risk" in s.tags for s in signals)
    assert any(s.kind_hint is KindHint.BUG for s in signals)
