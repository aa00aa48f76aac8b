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

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
from pydantic import SecretStr

from connectors.base import Connector, Credentials, Probe, SourceConfig
from connectors.cursor import Window
from connectors.exports import ExportFile
from connectors.http import (
    DEFAULT_TABLE,
    Decision,
    MalformedPayloadError,
    PageRequest,
    QueryParamPaginator,
    ResponseAction,
    SourceHTTP,
    SourceNotFoundError,
    WindowBudget,
    float_header,
    paginate,
    retry_after_seconds,
)
from connectors.signal import Signal, SourceName
from connectors.text import (
    describe_id,
    first_line,
    guess_kind,
    guess_tags,
    normalize_whitespace,
    parse_id,
    parse_timestamp,
)

DISCORD_EPOCH_MS = 1_420_070_400_000
TEXT_CHANNEL_TYPES = frozenset({0, 5, 10, 11, 12})  # text, announcement, and threads read directly
FORUM_CHANNEL_TYPES = frozenset({15, 16})  # forum, media
HUMAN_MESSAGE_TYPES = frozenset({0, 19})  # DEFAULT, REPLY; the rest are system messages (joins, pins, boosts)
EXPORT_HUMAN_TYPES = frozenset({"Default", "Reply"})
MESSAGE_CONTENT = 1 << 18
MESSAGE_CONTENT_LIMITED = 1 << 19
_VOTE_EMOJI_PREFIXES = ("👍", "⬆", "🔼", "\u2795")  # \u2795 is the heavy plus sign
_VOTE_EMOJI_NAMES = frozenset({"upvote", "plus1", "+1", "thumbsup", "thumbs_up"})
_BAD_CREDENTIALS_HINT = "Check DISCORD_BOT_TOKEN: it is missing, wrong or was reset in the Developer Portal."
_MENTION = re.compile(r"<@!?(\d+)>")
EXPORT_SHAPE = "a DiscordChatExporter JSON export"
INTENT_NOTICE = (
    "Discord: {n} messages had empty content — enable the Message Content Intent for the bot in the Discord"
    " Developer Portal (Bot > Privileged Gateway Intents)"
)


def discord_retry_after(response: httpx.Response) -> Decision:
    """Discord's 429 dialect, pure: JSON `retry_after` (float seconds), else the bucket's reset-after header."""
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
        wait = float_header(response.headers.get("x-ratelimit-reset-after"))
    if wait is None:
        wait = retry_after_seconds(response.headers)
    return Decision(ResponseAction.RATE_LIMITED, wait, f"rate limited ({scope})")


discord_decide = DEFAULT_TABLE.override({429: discord_retry_after})


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


@dataclass(frozen=True)
class _AfterSnowflakePaginator(QueryParamPaginator):
    """Messages pages: the next `after` is the page's largest id, until a page comes back short (< `limit`)."""

    param: str = "after"

    def next_token(self, response: httpx.Response, body: Any) -> str | None:
        limit = int(response.request.url.params.get("limit") or 0)
        if not isinstance(body, list) or len(body) < limit:
            return None
        ids = [int(m["id"]) for m in body if isinstance(m, dict) and str(m.get("id", "")).isdigit()]
        return str(max(ids)) if ids else None


@dataclass(frozen=True)
class _ArchivedThreadsPaginator(QueryParamPaginator):
    """Archived threads: newest archive first; the next `before` is the oldest archive_timestamp, while has_more."""

    param: str = "before"

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


@dataclass(frozen=True, kw_only=True)
class DiscordConfig(SourceConfig):
    """DISCORD_* settings."""

    api_url: str = "https://discord.com/api/v10"
    bot_token: SecretStr | None = None
    channel_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class _ExportMessage:
    """A message of a DiscordChatExporter file with the channel it belongs to."""

    message: Any
    guild_id: str
    channel_id: str
    title: str
    thread: str | None  # the export's key when it is a forum post's thread
    parent: str | None = None  # the starter's id when the thread was started from a channel message


class DiscordConnector(Connector):
    """Messages of `DISCORD_CHANNEL_IDS` (text or forum channels) or a DiscordChatExporter JSON export."""

    config: DiscordConfig
    source = SourceName.DISCORD
    enable_hint = "set DISCORD_BOT_TOKEN and DISCORD_CHANNEL_IDS, or DISCORD_EXPORT_PATH"
    base_url_setting = "DISCORD_API_URL"
    export_setting = "DISCORD_EXPORT_PATH"
    setting_hints: ClassVar[Mapping[int, str]] = {
        401: _BAD_CREDENTIALS_HINT,
        403: "The bot lacks View Channel / Read Message History in this channel (channel settings >"
        " Permissions), or is not in its server.",
        404: "Check DISCORD_CHANNEL_IDS: the channel does not exist or the bot is not in its server.",
    }
    decide = discord_decide
    budget = WindowBudget()  # `x-ratelimit-remaining: 0`: wait out the bucket's reset before the next call
    page_size: ClassVar[int] = 100
    endpoint = "channels/{target}/messages"
    paginator = _AfterSnowflakePaginator()
    records_expected = "a JSON array of messages"
    target_label = "channel {target} (in DISCORD_CHANNEL_IDS): "
    message_url: ClassVar[str] = "https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._empty_content = 0
        self._guild_id, self._channel_id = "@me", ""  # the text channel being read

    def api_configured(self) -> bool:
        token = self.config.bot_token
        return bool(token is not None and token.get_secret_value() and self.config.channel_ids)

    def credentials(self) -> Credentials:
        token = self.config.bot_token
        secret = token.get_secret_value() if token is not None else ""
        return {"Authorization": f"Bot {secret}", "User-Agent": "DiscordBot (backlog-grooming, 0.1)"}, None

    # --- live API ---------------------------------------------------------------------------------------------

    def targets(self) -> tuple[str, ...]:
        return self.config.channel_ids

    def finish(self) -> None:
        if self._empty_content and not any(n.startswith("Discord: ") and "Intent" in n for n in self.notices):
            self.notices.append(INTENT_NOTICE.format(n=self._empty_content))
        self._empty_content = 0

    def _get(self, http: SourceHTTP, path: str, params: dict[str, str] | None = None) -> Any:
        return self.sender(http)(PageRequest(path, params=params or {}))[1]

    def read_target(self, http: SourceHTTP, target: str, window: Window) -> Iterator[Signal]:
        channel = self._get(http, f"channels/{target}")
        if not isinstance(channel, dict) or not isinstance(channel.get("type"), int):
            raise MalformedPayloadError(
                self.source.value, f"GET channels/{target} returned no channel object with an integer 'type'"
            )
        kind = channel["type"]
        if kind in TEXT_CHANNEL_TYPES:
            self._guild_id, self._channel_id = str(channel.get("guild_id") or "@me"), str(channel["id"])
            yield from super().read_target(http, target, window)
        elif kind in FORUM_CHANNEL_TYPES:
            yield from self._read_forum(http, channel, window)
        else:
            self.skip(
                f"channel {target}",
                f"type {kind} is neither a text nor a forum channel; remove it from DISCORD_CHANNEL_IDS",
            )

    def params(self, window: Window) -> dict[str, str | int]:
        start = str(snowflake_after(window.first)) if window.first is not None else "0"
        return {"limit": str(self.page_size), "after": start}

    def page_records(self, http: SourceHTTP, response: httpx.Response, body: Any) -> list[Any]:
        """Discord answers newest-first; read each page oldest-first so a stopped read resumes cleanly."""
        return sorted(super().page_records(http, response, body), key=_id_order)

    def to_signal(self, record: Any, where: str) -> Signal | None:
        return self._message_signal(record, self._guild_id, self._channel_id, where)

    def _read_forum(self, http: SourceHTTP, channel: dict[str, Any], window: Window) -> Iterator[Signal]:
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
        for thread in self._forum_threads(http, str(guild_id), channel_id, window):
            thread_id = str(thread.get("id", ""))
            if not thread_id.isdigit() or thread_id in seen:
                continue
            seen.add(thread_id)
            last_activity = max(
                (t for t in (snowflake_time(thread_id), snowflake_time(thread.get("last_message_id"))) if t),
                default=None,
            )
            if last_activity is not None and not window.admits(last_activity):
                continue  # nothing new in this post: save the call
            labels = [tag_names[str(t)] for t in thread.get("applied_tags") or [] if str(t) in tag_names]
            yield from self.admit(self._forum_post(http, str(guild_id), thread, labels, last_activity), window)

    def _forum_post(
        self, http: SourceHTTP, guild_id: str, thread: dict[str, Any], labels: list[str], last: datetime | None
    ) -> Signal | None:
        """A forum post: its starter message (id = the thread's id), titled with the thread's name."""
        thread_id = str(thread["id"])
        path = f"channels/{thread_id}/messages/{thread_id}"
        try:
            starter = self._get(http, path)
        except SourceNotFoundError:
            self.skip(f"{http.base_url}/{path}", "the forum post's starter message was deleted; skipped")
            return None
        title = str(thread.get("name") or "").strip()
        where = f"{http.base_url}/{path}"
        return self._message_signal(starter, guild_id, thread_id, where, title=title, labels=labels, last_activity=last)

    def _forum_threads(
        self, http: SourceHTTP, guild_id: str, channel_id: str, window: Window
    ) -> Iterator[dict[str, Any]]:
        """Active threads of the forum, then archived ones newest-archived first (stopping before the window)."""
        active = self._get(http, f"guilds/{guild_id}/threads/active")
        if not isinstance(active, dict) or not isinstance(active.get("threads"), list):
            raise MalformedPayloadError(
                self.source.value, f"GET guilds/{guild_id}/threads/active returned no 'threads' array"
            )
        for thread in active["threads"]:
            if isinstance(thread, dict) and str(thread.get("parent_id")) == channel_id:
                yield thread
        path = f"channels/{channel_id}/threads/archived/public"
        first = PageRequest(path, params={"limit": str(self.page_size)})
        for _, body in paginate(self.sender(http), _ArchivedThreadsPaginator(), first, source=self.source.value):
            if not isinstance(body, dict) or not isinstance(body.get("threads"), list):
                raise MalformedPayloadError(self.source.value, f"GET {path} returned no 'threads' array")
            reached_start = False
            for thread in body["threads"]:
                if not isinstance(thread, dict):
                    continue
                archived_at = _maybe_timestamp(_archive_timestamp(thread))
                if archived_at is not None and not window.admits(archived_at):
                    reached_start = True  # archived before the window: it and every older one are quiet
                    continue
                yield thread
            if reached_start:
                return

    # --- doctor -----------------------------------------------------------------------------------------------

    def probe_configured(self) -> bool:
        return self.config.bot_token is not None and bool(self.config.bot_token.get_secret_value())

    def probes(self) -> list[Probe]:
        intent = Probe("token + message content", "/applications/@me", "check DISCORD_BOT_TOKEN", _intent)
        return [intent] + [
            Probe(
                f"channel {channel}",
                f"/channels/{channel}",
                f"give the bot View Channel + Read Message History in channel {channel}",
            )
            for channel in self.config.channel_ids
        ]

    def _checked_message(self, item: object, where: str) -> tuple[dict[str, Any], str] | None:
        """(message, snowflake id), or None (recorded as a skipped row) when the item is not a message."""
        if not isinstance(item, dict):
            self.skip(where, f"expected a message object, got {type(item).__name__}")
            return None
        message_id = parse_id(item.get("id"))
        if message_id is None:
            self.skip(where, f"message snowflake: {describe_id(item.get('id'))}")
            return None
        return item, message_id

    def _message_signal(  # noqa: PLR0911 - one early return per kind of message that is not feedback
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
        kind = message.get("type", 0)
        if not isinstance(kind, int) or isinstance(kind, bool) or kind not in HUMAN_MESSAGE_TYPES:
            return None  # a system message (join, pin...), or a type Discord does not send
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

        A text channel's export: each human message is a signal, except a `Reply` to a message of the file,
        which is evidence folded into that message's row. A thread started from a message (first message of
        type 21): the replies fold into the starter's row (`discord:<thread id>`). A forum post's export: only
        its first message, titled with the post name.
        """
        if self.export_path is None:
            return
        window = Window.since(since)
        export = ExportFile(
            self.source.value, self.export_path, self.export_setting, skip=self.skip, notice=self.notice
        )
        kept: dict[str, tuple[str, Signal]] = {}
        threads_done: set[str] = set()
        for where, item in self.export_records(export):
            if item.thread in threads_done:
                continue
            signal = self._export_signal(item.message, item.guild_id, item.channel_id, where, item.title)
            if signal is None:
                continue
            parent = item.parent or (
                _reply_to(item.message) if item.guild_id != "@me" else None
            )  # DMs: a reply is a row
            if parent is not None and parent in kept:
                self._fold(kept, parent, signal)
                continue
            if item.parent is not None:  # a reply of a thread whose starter is not in the file: the row is the thread
                signal = signal.model_copy(update={"external_id": item.parent, "title": item.title or signal.title})
            elif item.thread is not None:
                threads_done.add(item.thread)  # a forum post is its first message; replies are discussion
            self._keep_latest(kept, where, signal)
        if not kept and not self.problems:
            self.notice(f"{self.export_path}: no messages in the export file (check its --after/--before range)")
        for _where, signal in kept.values():
            yield from self.admit(signal, window)

    @staticmethod
    def _fold(kept: dict[str, tuple[str, Signal]], parent: str, reply: Signal) -> None:
        where, row = kept[parent]
        update = {"text": f"{row.text}\n\n{reply.text}".strip(), "updated_at": max(row.updated_at, reply.updated_at)}
        kept[parent] = (where, row.model_copy(update=update))

    def export_records(self, export: ExportFile) -> Iterator[tuple[str, Any]]:
        """DCE writes one JSON document per channel (`-f Json`); NDJSON and the like are one file error."""
        loaded = export.json(EXPORT_SHAPE + " (DiscordChatExporter `-f Json`, one document)")
        exports = loaded if isinstance(loaded, list) else [loaded]
        for number, one in enumerate(exports):
            if (
                not isinstance(one, dict)
                or not isinstance(one.get("channel"), dict)
                or not isinstance(one.get("messages"), list)
            ):
                raise export.malformed(
                    f"export {number} is not {EXPORT_SHAPE}"
                    " (needs 'guild', 'channel' and a 'messages' array; export with --format Json)"
                )
            yield from self._one_export(export, one, number if len(exports) > 1 else None)

    def _one_export(self, export: ExportFile, one: dict[str, Any], number: int | None) -> Iterator[tuple[str, Any]]:
        prefix = f"{export.path}:" if number is None else f"{export.path}:export {number} "
        guild = one.get("guild") if isinstance(one.get("guild"), dict) else {}
        channel: dict[str, Any] = one["channel"]
        messages: list[Any] = one["messages"]
        is_thread = "thread" in str(channel.get("type", "")).lower()
        title = str(channel.get("name") or "").strip() if is_thread else ""
        guild_id = str((guild or {}).get("id") or "")
        ids = "@me" if guild_id in ("", "0") else guild_id, str(channel.get("id", ""))  # DMs: guild "0"
        started_from_message = is_thread and bool(messages) and _is_thread_starter(messages[0])
        parent = ids[1] if started_from_message else None
        for index, message in enumerate(messages):
            thread = prefix if is_thread and not started_from_message else None
            yield f"{prefix}message {index}", _ExportMessage(message, *ids, title, thread, parent)

    def _export_signal(self, message: object, guild_id: str, channel_id: str, where: str, title: str) -> Signal | None:
        checked = self._checked_message(message, where)
        if checked is None:
            return None
        message, message_id = checked
        author = message.get("author")
        if not isinstance(author, dict):
            self.skip(where, "message has no 'author' object")
            return None
        kind = message.get("type", "Default")
        if author.get("isBot") is True or not isinstance(kind, str) or kind not in EXPORT_HUMAN_TYPES:
            return None  # a bot's, a system message (pin, join...), or a type no exporter writes
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


def _is_thread_starter(message: object) -> bool:
    """Discord's thread-starter message (type 21), which DCE writes as "21" (its enum has no name for it)."""
    return isinstance(message, dict) and str(message.get("type")) in ("21", "ThreadStarterMessage")


def _reply_to(message: object) -> str | None:
    """The message a `Reply` answers, when it is one."""
    if not isinstance(message, dict) or message.get("type") != "Reply":
        return None
    reference = message.get("reference")
    target = reference.get("messageId") if isinstance(reference, dict) else None
    return str(target) if target else None


def _id_order(message: object) -> int:
    """A message's snowflake as a number to sort by (-1: not one; a snowflake has at most 20 digits)."""
    text = str(message.get("id", "")) if isinstance(message, dict) else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 20 else -1


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


def _intent(body: Any) -> tuple[bool, str, str]:
    flags = int((body or {}).get("flags") or 0) if isinstance(body, dict) else 0
    if flags & (MESSAGE_CONTENT | MESSAGE_CONTENT_LIMITED):
        return True, "Message Content intent enabled", ""
    return (
        False,
        "Message Content intent is off: messages arrive with empty content",
        "Discord Developer Portal > your app > Bot > Privileged Gateway Intents > Message Content Intent",
    )


__all__ = ["DiscordConfig", "DiscordConnector", "discord_decide", "snowflake_after", "snowflake_time"]
