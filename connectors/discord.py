"""Discord as feedback: text-channel messages and forum posts (the bot API), or a DiscordChatExporter JSON file.

Text channels: every human message is one signal, read oldest-first from an `after` snowflake derived from
`since`. Forum channels (a `#feature-requests` forum, say): every post is one signal, its starter message (whose id
equals the thread id) as the text and the thread name as the title; its `updated_at` is the newest of the
starter's edit and the thread's last reply, so a discussion that is alive keeps the row's Last Seen fresh.

Votes are 👍-like reactions only (👍 in any skin tone, ⬆️, 🔼, heavy plus and custom emojis named upvote/plus1/+1):
the same meaning as GitHub's 👍, so votes compare across sources; 😂 or 👎 are not demand.
Limitation: a message edited (or newly reacted to) after `since` but created before it is not re-read from a text
channel, because `after` pages by creation; sync's cursor overlap narrows this.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx

from connectors.base import Connector
from connectors.http import (
    Decision,
    MalformedPayloadError,
    Paginator,
    ResponseAction,
    SourceAuthError,
    SourceConfigError,
    SourceError,
    SourceHTTP,
    SourceNotFoundError,
    default_decide,
    paginate,
    parse_json,
    retry_after_seconds,
)
from connectors.signal import Signal, SourceName
from connectors.text import first_line, guess_kind, guess_tags, normalize_whitespace, parse_timestamp
from service.logging import get_logger

log = get_logger(__name__)

DISCORD_EPOCH_MS = 1_420_070_400_000
TEXT_CHANNEL_TYPES = frozenset({0, 5, 10, 11, 12})  # text, announcement, and threads read directly
FORUM_CHANNEL_TYPES = frozenset({15, 16})  # forum, media
HUMAN_MESSAGE_TYPES = frozenset({0, 19})  # DEFAULT, REPLY; the rest are system messages (joins, pins, boosts)
EXPORT_HUMAN_TYPES = frozenset({"Default", "Reply"})
_VOTE_EMOJI_PREFIXES = ("👍", "⬆", "🔼", "\u2795")  # \u2795 is the heavy plus sign
_VOTE_EMOJI_NAMES = frozenset({"upvote", "plus1", "+1", "thumbsup", "thumbs_up"})
_BAD_CREDENTIALS_HINT = "Check DISCORD_BOT_TOKEN: it is missing, wrong or was reset in the Developer Portal."
_MENTION = re.compile(r"<@!?(\d+)>")
INTENT_NOTICE = (
    "Discord: {n} messages had empty content — enable the Message Content Intent for the bot in the Discord"
    " Developer Portal (Bot > Privileged Gateway Intents)"
)


def discord_decide(response: httpx.Response) -> Decision:
    """Discord's 429 dialect, pure: JSON `retry_after` (float seconds), else the bucket's reset-after header."""
    if response.status_code != 429:
        return default_decide(response)
    wait: float | None = None
    scope = "global" if response.headers.get("x-ratelimit-global") else "bucket"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        if body.get("global") is True:
            scope = "global"
        value = body.get("retry_after")
        if isinstance(value, int | float) and not isinstance(value, bool):
            wait = max(0.0, float(value))
    if wait is None:
        wait = _float_header(response.headers.get("x-ratelimit-reset-after"))
    if wait is None:
        wait = retry_after_seconds(response.headers)
    return Decision(ResponseAction.RATE_LIMITED, wait, f"rate limited ({scope})")


def _float_header(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def snowflake_after(since: datetime) -> int:
    """The smallest snowflake of `since`'s millisecond, minus one: `after=` it includes messages AT `since`."""
    ms = int(since.astimezone(UTC).timestamp() * 1000)
    return max(0, ((ms - DISCORD_EPOCH_MS) << 22) - 1)


def snowflake_time(snowflake: object) -> datetime | None:
    """When a snowflake id was minted (UTC); None for something that is not one."""
    try:
        value = int(str(snowflake))
    except ValueError:
        return None
    if value <= 0:
        return None
    return datetime.fromtimestamp(((value >> 22) + DISCORD_EPOCH_MS) / 1000, tz=UTC)


class _AfterSnowflakePaginator(Paginator):
    """Messages pages: the next `after` is the page's largest id, until a page comes back short."""

    def __init__(self, source: str, limit: int) -> None:
        super().__init__(source)
        self.limit = limit

    def next_token(self, response: httpx.Response, body: Any) -> str | None:
        if not isinstance(body, list) or len(body) < self.limit:
            return None
        ids = [int(m["id"]) for m in body if isinstance(m, dict) and str(m.get("id", "")).isdigit()]
        return str(max(ids)) if ids else None


class _ArchivedThreadsPaginator(Paginator):
    """Archived threads: newest archive first; the next `before` is the oldest archive_timestamp, while has_more."""

    def next_token(self, response: httpx.Response, body: Any) -> str | None:
        if not isinstance(body, dict) or body.get("has_more") is not True:
            return None
        stamps = [_archive_timestamp(t) for t in body.get("threads") or [] if isinstance(t, dict)]
        known = [s for s in stamps if s]
        return min(known, key=parse_timestamp) if known else None


def _archive_timestamp(thread: dict[str, Any]) -> str | None:
    meta = thread.get("thread_metadata")
    stamp = meta.get("archive_timestamp") if isinstance(meta, dict) else None
    return stamp if isinstance(stamp, str) and stamp else None


class DiscordConnector(Connector):
    """Messages of `DISCORD_CHANNEL_IDS` (text or forum channels) or a DiscordChatExporter JSON export."""

    source: ClassVar[SourceName] = SourceName.DISCORD
    enable_hint: ClassVar[str] = "set DISCORD_BOT_TOKEN and DISCORD_CHANNEL_IDS, or DISCORD_EXPORT_PATH"
    page_size: ClassVar[int] = 100
    message_url: ClassVar[str] = "https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._empty_content = 0

    @property
    def export_path(self) -> Path | None:
        return self.settings.discord_export_path

    def api_configured(self) -> bool:
        token = self.settings.discord_bot_token
        return bool(token is not None and token.get_secret_value() and self.settings.discord_channel_ids)

    def http(self) -> SourceHTTP:
        token = self.settings.discord_bot_token
        secret = token.get_secret_value() if token is not None else ""
        return SourceHTTP(
            source=self.source.value,
            base_url=self.settings.discord_api_url,
            headers={"Authorization": f"Bot {secret}", "User-Agent": "DiscordBot (backlog-grooming, 0.1)"},
            setting_hint={
                401: _BAD_CREDENTIALS_HINT,
                403: "The bot lacks View Channel / Read Message History in this channel (channel settings >"
                " Permissions), or is not in its server.",
                404: "Check DISCORD_CHANNEL_IDS: the channel does not exist or the bot is not in its server.",
            },
            decide=discord_decide,
            transport=self.transport,
            sleep=self.sleep,
        )

    # --- live API ---------------------------------------------------------------------------------------------

    def read_api(self, since: datetime | None) -> Iterator[Signal]:
        """Each channel in turn; a channel the bot cannot see is reported at the end, the others still read."""
        http = self.http()
        since = _utc(since)
        self._empty_content = 0
        failures: list[str] = []
        failure_type: type[SourceError] = SourceError
        try:
            for channel_id in self.settings.discord_channel_ids:
                try:
                    yield from self._read_channel(http, channel_id, since)
                except (SourceAuthError, SourceNotFoundError) as exc:
                    if _BAD_CREDENTIALS_HINT in str(exc):
                        raise  # a bad token fails every channel
                    log.warning("discord.channel_failed", channel_id=channel_id, error=str(exc))
                    if not failures:
                        failure_type = type(exc)
                    failures.append(f"channel {channel_id} (in DISCORD_CHANNEL_IDS): {_without_prefix(exc)}")
        finally:
            self.calls += http.calls
            http.close()
            self._report_empty_content()
        if failures:
            raise failure_type(self.source.value, "; ".join(failures))

    def _report_empty_content(self) -> None:
        if self._empty_content and not any(n.startswith("Discord: ") and "Intent" in n for n in self.notices):
            self.notices.append(INTENT_NOTICE.format(n=self._empty_content))

    def _get(self, http: SourceHTTP, path: str, params: dict[str, str] | None = None) -> tuple[httpx.Response, Any]:
        """GET + JSON; when the bucket says 0 requests remain, wait out its reset before the next call."""
        response = http.request("GET", path, params=params)
        body = parse_json(self.source.value, response)
        if response.headers.get("x-ratelimit-remaining") == "0":
            wait = _float_header(response.headers.get("x-ratelimit-reset-after"))
            if wait:
                log.info("discord.bucket_exhausted", path=path, wait_s=wait)
                self.sleep(min(wait, http.max_wait_s))
        return response, body

    def _read_channel(self, http: SourceHTTP, channel_id: str, since: datetime | None) -> Iterator[Signal]:
        _, channel = self._get(http, f"channels/{channel_id}")
        if not isinstance(channel, dict) or not isinstance(channel.get("type"), int):
            raise MalformedPayloadError(
                self.source.value, f"GET channels/{channel_id} returned no channel object with an integer 'type'"
            )
        kind = channel["type"]
        if kind in TEXT_CHANNEL_TYPES:
            yield from self._read_text_channel(http, channel, since)
        elif kind in FORUM_CHANNEL_TYPES:
            yield from self._read_forum(http, channel, since)
        else:
            self.skip(
                f"channel {channel_id}",
                f"type {kind} is neither a text nor a forum channel; remove it from DISCORD_CHANNEL_IDS",
            )

    def _read_text_channel(self, http: SourceHTTP, channel: dict[str, Any], since: datetime | None) -> Iterator[Signal]:
        channel_id = str(channel["id"])
        guild_id = str(channel.get("guild_id") or "@me")
        path = f"channels/{channel_id}/messages"
        start = str(snowflake_after(since)) if since is not None else "0"

        def pages(after: str | None) -> tuple[httpx.Response, Any]:
            response, body = self._get(http, path, {"limit": str(self.page_size), "after": after or start})
            if not isinstance(body, list):
                raise MalformedPayloadError(
                    self.source.value, f"GET {path} returned {type(body).__name__}, expected a JSON array of messages"
                )
            return response, body

        for _, body in paginate(pages, _AfterSnowflakePaginator(self.source.value, self.page_size)):
            # Discord answers newest-first; read each page oldest-first so a stopped read resumes cleanly.
            for index, message in sorted(enumerate(body), key=lambda pair: _id_order(pair[1])):
                where = f"{http.base_url}/{path} item {index}"
                signal = self._message_signal(message, guild_id, channel_id, where)
                if signal is not None and (since is None or signal.updated_at >= since):
                    yield signal

    def _read_forum(self, http: SourceHTTP, channel: dict[str, Any], since: datetime | None) -> Iterator[Signal]:
        channel_id = str(channel["id"])
        guild_id = channel.get("guild_id")
        if not guild_id:
            raise MalformedPayloadError(self.source.value, f"forum channel {channel_id} has no guild_id")
        tag_names = {
            str(tag.get("id")): str(tag.get("name"))
            for tag in channel.get("available_tags") or []
            if isinstance(tag, dict) and tag.get("name")
        }
        seen: set[str] = set()
        for thread in self._forum_threads(http, str(guild_id), channel_id, since):
            thread_id = str(thread.get("id", ""))
            if not thread_id.isdigit() or thread_id in seen:
                continue
            seen.add(thread_id)
            last_activity = max(
                (t for t in (snowflake_time(thread_id), snowflake_time(thread.get("last_message_id"))) if t),
                default=None,
            )
            if since is not None and last_activity is not None and last_activity < since:
                continue  # nothing new in this post: save the call
            path = f"channels/{thread_id}/messages/{thread_id}"
            try:
                _, starter = self._get(http, path)
            except SourceNotFoundError:
                self.skip(f"{http.base_url}/{path}", "the forum post's starter message was deleted; skipped")
                continue
            labels = [tag_names[str(t)] for t in thread.get("applied_tags") or [] if str(t) in tag_names]
            signal = self._message_signal(
                starter,
                str(guild_id),
                thread_id,
                f"{http.base_url}/{path}",
                title=str(thread.get("name") or "").strip(),
                labels=labels,
                last_activity=last_activity,
            )
            if signal is not None and (since is None or signal.updated_at >= since):
                yield signal

    def _forum_threads(
        self, http: SourceHTTP, guild_id: str, channel_id: str, since: datetime | None
    ) -> Iterator[dict[str, Any]]:
        """Active threads of the forum, then archived ones newest-archived first (stopping before `since`)."""
        _, active = self._get(http, f"guilds/{guild_id}/threads/active")
        if not isinstance(active, dict) or not isinstance(active.get("threads"), list):
            raise MalformedPayloadError(
                self.source.value, f"GET guilds/{guild_id}/threads/active returned no 'threads' array"
            )
        for thread in active["threads"]:
            if isinstance(thread, dict) and str(thread.get("parent_id")) == channel_id:
                yield thread
        path = f"channels/{channel_id}/threads/archived/public"

        def pages(before: str | None) -> tuple[httpx.Response, Any]:
            params = {"limit": str(self.page_size)}
            if before:
                params["before"] = before
            response, body = self._get(http, path, params)
            if not isinstance(body, dict) or not isinstance(body.get("threads"), list):
                raise MalformedPayloadError(self.source.value, f"GET {path} returned no 'threads' array")
            return response, body

        for _, body in paginate(pages, _ArchivedThreadsPaginator(self.source.value)):
            reached_since = False
            for thread in body["threads"]:
                if not isinstance(thread, dict):
                    continue
                stamp = _archive_timestamp(thread)
                archived_at = _maybe_timestamp(stamp)
                if since is not None and archived_at is not None and archived_at < since:
                    reached_since = True  # archived before `since`: it and every older one are quiet
                    continue
                yield thread
            if reached_since:
                return

    def _checked_message(self, item: object, where: str) -> tuple[dict[str, Any], str] | None:
        """(message, snowflake id), or None (recorded as a skipped row) when the item is not a message."""
        if not isinstance(item, dict):
            self.skip(where, f"expected a message object, got {type(item).__name__}")
            return None
        message_id = str(item.get("id", ""))
        if not message_id.isdigit():
            self.skip(where, f"message has no snowflake 'id' (got {item.get('id')!r})")
            return None
        return item, message_id

    def _message_signal(
        self,
        message: object,
        guild_id: str,
        channel_id: str,
        where: str,
        *,
        title: str = "",
        labels: list[str] | None = None,
        last_activity: datetime | None = None,
    ) -> Signal | None:
        checked = self._checked_message(message, where)
        if checked is None:
            return None
        message, message_id = checked
        where = self.message_url.format(guild_id=guild_id, channel_id=channel_id, message_id=message_id)
        author = message.get("author")
        if not isinstance(author, dict):
            self.skip(where, "message has no 'author' object")
            return None
        if author.get("bot") is True or message.get("webhook_id") or author.get("system") is True:
            return None
        if message.get("type", 0) not in HUMAN_MESSAGE_TYPES:
            return None
        content = message.get("content")
        text = _plain(content if isinstance(content, str) else "", message.get("mentions"))
        embeds = message.get("embeds") if isinstance(message.get("embeds"), list) else []
        if not text:
            text = _embed_text(embeds or [])
        if not text:
            if not embeds and not message.get("attachments"):
                self._empty_content += 1  # the MESSAGE_CONTENT intent is off: reported once, never stored
            return None
        try:
            created = parse_timestamp(message.get("timestamp"))
            edited = message.get("edited_timestamp")
            updated = parse_timestamp(edited) if edited else created
        except ValueError as exc:
            self.skip(where, f"timestamp: {exc}")
            return None
        if last_activity is not None and last_activity > updated:
            updated = last_activity
        return self._signal(
            message_id=message_id,
            url=where,
            title=title,
            text=text,
            labels=labels or [],
            votes=_votes(message.get("reactions")),
            created=created,
            updated=updated,
        )

    def _signal(
        self,
        *,
        message_id: str,
        url: str,
        title: str,
        text: str,
        labels: list[str],
        votes: int | None,
        created: datetime,
        updated: datetime,
    ) -> Signal:
        heading = first_line(title) if title else first_line(text)
        return Signal(
            source=self.source,
            external_id=message_id,
            url=url,
            title=heading or f"Discord message {message_id}",
            text=text,
            customer=None,  # Discord authors are people; the PM adds the account when known
            kind_hint=guess_kind(heading, text, labels=labels),
            votes=votes,
            created_at=created,
            updated_at=updated,
            tags=guess_tags(heading, text),
        )

    # --- export file ------------------------------------------------------------------------------------------

    def read_export(self, since: datetime | None) -> Iterator[Signal]:
        """DiscordChatExporter JSON: one export object, or a list of them (several channels) in one file.

        A text channel's export: each human message is a signal. A forum post's export (channel type
        `Guild...Thread`, `channel.category` = the forum): only its first message, titled with the post name.
        """
        path = self.export_path
        if path is None:
            return
        since = _utc(since)
        try:
            raw = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SourceConfigError(
                self.source.value, f"DISCORD_EXPORT_PATH={path} cannot be read ({exc.strerror or exc})"
            ) from None
        try:
            loaded = json.loads(raw)
        except ValueError as exc:
            raise MalformedPayloadError(
                self.source.value, f"{path}: not JSON ({exc}); expected a DiscordChatExporter JSON export"
            ) from None
        exports = loaded if isinstance(loaded, list) else [loaded]
        for number, export in enumerate(exports):
            if (
                not isinstance(export, dict)
                or not isinstance(export.get("channel"), dict)
                or not isinstance(export.get("messages"), list)
            ):
                raise MalformedPayloadError(
                    self.source.value,
                    f"{path}: export {number} is not a DiscordChatExporter JSON export"
                    " (needs 'guild', 'channel' and a 'messages' array; export with --format Json)",
                )
            prefix = f"{path}:" if len(exports) == 1 else f"{path}:export {number} "
            yield from self._read_one_export(export, prefix, since)

    def _read_one_export(self, export: dict[str, Any], prefix: str, since: datetime | None) -> Iterator[Signal]:
        guild = export.get("guild") if isinstance(export.get("guild"), dict) else {}
        channel: dict[str, Any] = export["channel"]
        guild_id = str((guild or {}).get("id") or "@me")
        channel_id = str(channel.get("id", ""))
        is_thread = "thread" in str(channel.get("type", "")).lower()
        thread_title = str(channel.get("name") or "").strip() if is_thread else ""
        for index, message in enumerate(export["messages"]):
            where = f"{prefix}message {index}"
            signal = self._export_signal(message, guild_id, channel_id, where, thread_title)
            if signal is None:
                continue
            if since is None or signal.updated_at >= since:
                yield signal
            if is_thread:
                return  # a forum post is its first message; replies are discussion, not new requests

    def _export_signal(self, message: object, guild_id: str, channel_id: str, where: str, title: str) -> Signal | None:
        checked = self._checked_message(message, where)
        if checked is None:
            return None
        message, message_id = checked
        author = message.get("author")
        if not isinstance(author, dict):
            self.skip(where, "message has no 'author' object")
            return None
        if author.get("isBot") is True or message.get("type", "Default") not in EXPORT_HUMAN_TYPES:
            return None
        content = message.get("content")
        text = normalize_whitespace(content) if isinstance(content, str) else ""
        if not text:
            text = _embed_text(message.get("embeds") or [])
        if not text:
            return None  # an image or sticker alone: nothing to read
        try:
            created = parse_timestamp(message.get("timestamp"))
            edited = message.get("timestampEdited")
            updated = parse_timestamp(edited) if edited else created
        except ValueError as exc:
            self.skip(where, f"timestamp: {exc}")
            return None
        return self._signal(
            message_id=message_id,
            url=self.message_url.format(guild_id=guild_id, channel_id=channel_id, message_id=message_id),
            title=title,
            text=text,
            labels=[],
            votes=_votes(message.get("reactions")),
            created=created,
            updated=updated,
        )


def _id_order(message: object) -> int:
    if isinstance(message, dict) and str(message.get("id", "")).isdigit():
        return int(message["id"])
    return -1


def _maybe_timestamp(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


def _plain(content: str, mentions: object) -> str:
    """Mentions `<@123>` become `@name` (or `@user`), whitespace is normalised; Markdown stays as typed."""
    names: dict[str, str] = {}
    if isinstance(mentions, list):
        for user in mentions:
            if isinstance(user, dict) and user.get("id"):
                names[str(user["id"])] = str(user.get("global_name") or user.get("username") or "user")
    return normalize_whitespace(_MENTION.sub(lambda m: "@" + names.get(m.group(1), "user"), content))


def _embed_text(embeds: object) -> str:
    if not isinstance(embeds, list):
        return ""
    parts = [
        str(embed.get(key)).strip()
        for embed in embeds
        if isinstance(embed, dict)
        for key in ("title", "description")
        if embed.get(key)
    ]
    return normalize_whitespace("\n".join(parts))


def _votes(reactions: object) -> int:
    """Sum of 👍-like reactions; API reactions carry `emoji.name` and `count`, exports the same keys."""
    if not isinstance(reactions, list):
        return 0
    total = 0
    for reaction in reactions:
        if not isinstance(reaction, dict):
            continue
        emoji = reaction.get("emoji")
        name = str(emoji.get("name") or "") if isinstance(emoji, dict) else ""
        count = reaction.get("count")
        if not isinstance(count, int) or isinstance(count, bool):
            continue
        if name.startswith(_VOTE_EMOJI_PREFIXES) or name.lower() in _VOTE_EMOJI_NAMES:
            total += count
    return total


def _utc(since: datetime | None) -> datetime | None:
    """A naive `since` is taken as UTC, so comparing it with the aware signal times cannot raise."""
    return since.replace(tzinfo=UTC) if since is not None and since.tzinfo is None else since


def _without_prefix(exc: SourceError) -> str:
    text = str(exc)
    prefix = f"{exc.source}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


__all__ = ["DiscordConnector", "discord_decide", "snowflake_after", "snowflake_time"]
