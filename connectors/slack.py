"""Slack: the enterprise pilots' shared channels, where "the real feedback hides in casual comments".

Live: `auth.test` (the workspace URL the message links need, and a token check), then per channel
`conversations.history` (`oldest` + `cursor`), and `conversations.replies` for each thread. Export: Slack's
workspace export, a folder or .zip holding `channels.json` and `<channel name>/<YYYY-MM-DD>.json`.

One row is one top-level human message; bot messages and every subtype (joins, leaves, bot_message, topic...)
are not feedback. A thread's replies are folded into its row's Excerpt, and a new reply moves its Last Seen.
The channel's account (the row's Customer) comes from `backlog.toml` `[sources.slack.channels]`.

Slack answers most errors with HTTP 200 and `{"ok": false, "error": "..."}`: the decision table reads that body,
so `not_in_channel`, `invalid_auth` and `missing_scope` fail with the fix, and `ratelimited` waits.
"""

from __future__ import annotations

import html
import json
import re
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, ClassVar

import httpx
from pydantic import SecretStr

from connectors.base import Connector, Credentials, Probe, ProbeResult, SourceConfig
from connectors.cursor import Window
from connectors.exports import ExportFile, json_records
from connectors.http import (
    DEFAULT_TABLE,
    Decision,
    FailureType,
    PageRequest,
    QueryParamPaginator,
    ResponseAction,
    SourceAuthError,
    SourceConfigError,
    SourceError,
    SourceHTTP,
    paginate,
    parse_json,
    retry_after_seconds,
)
from connectors.signal import Signal, SourceName
from connectors.text import first_line, guess_tags, normalize_whitespace

RATELIMITED_WAIT_S = 30.0  # Slack names no wait in a `ratelimited` body; its tier-3 methods allow ~50/minute
_AUTH_FIX = "check SLACK_BOT_TOKEN (the app's Bot User OAuth Token, xoxb-...; reinstall the app if it was revoked)"
SLACK_ERRORS: Mapping[str, tuple[FailureType, str]] = {
    "not_in_channel": (FailureType.AUTH, "invite the bot to the channel (/invite @<your app> in it)"),
    "channel_not_found": (
        FailureType.NOT_FOUND,
        (
            "check SLACK_CHANNEL_IDS (the channel's id, e.g. C0123ABCD: channel details > About);"
            " a private channel also needs the bot invited"
        ),
    ),
    "invalid_auth": (FailureType.AUTH, _AUTH_FIX),
    "not_authed": (FailureType.AUTH, "set SLACK_BOT_TOKEN"),
    "token_revoked": (FailureType.AUTH, _AUTH_FIX),
    "token_expired": (FailureType.AUTH, _AUTH_FIX),
    "account_inactive": (FailureType.AUTH, _AUTH_FIX),
    "missing_scope": (
        FailureType.AUTH,
        (
            "add the scope to the Slack app (OAuth & Permissions > Bot Token Scopes: channels:history,"
            " groups:history), reinstall it and update SLACK_BOT_TOKEN"
        ),
    ),
}
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|([^>]+))?>")
_CHANNEL_REF = re.compile(r"<#[A-Z0-9]+\|([^>]*)>")
_LINK = re.compile(r"<((?:https?|mailto):[^>|]+)(?:\|([^>]+))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)[^>]*>")
_VOTE_REACTIONS = frozenset({"+1", "thumbsup", "raised_hands", "heavy_plus_sign"})
_DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")


def slack_errors(response: httpx.Response) -> Decision | None:
    """HTTP 200 with `ok: false` is a failure (or a rate limit); any other 200 is the table's success."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("ok") is not False:
        return None
    error = str(body.get("error") or "unknown_error")
    if error == "ratelimited":
        wait = retry_after_seconds(response.headers) or RATELIMITED_WAIT_S
        return Decision(ResponseAction.RATE_LIMITED, wait, "ratelimited", FailureType.TRANSIENT)
    failure, hint = SLACK_ERRORS.get(error, (FailureType.CONFIG, f"see https://api.slack.com/methods for {error!r}"))
    if error == "missing_scope" and body.get("needed"):
        hint = f"the method needs scope {body['needed']}: " + hint
    return Decision(ResponseAction.FAIL, reason=f"Slack error {error}", failure_type=failure, hint=hint)


slack_decide = DEFAULT_TABLE.override({200: slack_errors})


@dataclass(frozen=True, kw_only=True)
class SlackConfig(SourceConfig):
    """SLACK_* settings plus `[sources.slack.channels]` (channel id or name -> account)."""

    api_url: str = "https://slack.com/api"
    bot_token: SecretStr | None = None
    channel_ids: tuple[str, ...] = ()
    workspace_url: str | None = None
    channel_accounts: Mapping[str, str] = field(default_factory=dict)


def slack_text(text: str, names: Mapping[str, str] | None = None) -> str:
    """Slack mrkdwn as a person reads it: `<@U1|ana>` -> `@ana`, `<url|label>` -> `label (url)`, entities."""
    known = names or {}
    text = _MENTION.sub(lambda m: "@" + (m.group(2) or known.get(m.group(1), "user")), text)
    text = _CHANNEL_REF.sub(lambda m: "#" + m.group(1), text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})" if m.group(2) else m.group(1), text)
    text = _SPECIAL.sub(lambda m: "@" + m.group(1), text)
    return normalize_whitespace(html.unescape(text))


def message_link(workspace: str | None, channel: str, ts: str) -> str | None:
    """`https://acme.slack.com/archives/C0123/p1730641500000200`; None without a workspace URL."""
    if not workspace:
        return None
    return f"{workspace.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"


def is_human_message(message: Mapping[str, Any]) -> bool:
    """A person's own message: no subtype (joins, bot_message, thread_broadcast...), no bot, has a user."""
    return not message.get("subtype") and not message.get("bot_id") and bool(message.get("user"))


@dataclass(frozen=True)
class _Channel:
    id: str
    name: str


class SlackConnector(Connector):
    """Top-level human messages of `SLACK_CHANNEL_IDS`, threads folded in, or a workspace export."""

    config: SlackConfig
    source = SourceName.SLACK
    enable_hint = "set SLACK_BOT_TOKEN and SLACK_CHANNEL_IDS, or SLACK_EXPORT_PATH (a workspace export folder or .zip)"
    base_url_setting = "SLACK_API_URL"
    export_setting = "SLACK_EXPORT_PATH"
    setting_hints: ClassVar[Mapping[int, str]] = {
        401: _AUTH_FIX,
        403: "The SLACK_BOT_TOKEN may not call this method; check the app's scopes",
        404: "Check SLACK_API_URL (https://slack.com/api)",
    }
    decide = slack_decide
    endpoint = "conversations.history"
    paginator = QueryParamPaginator(token_path=("response_metadata", "next_cursor"), param="cursor")
    records_path = ("messages",)
    records_expected = "a `messages` array"
    target_label = "channel {target}: "
    page_size: ClassVar[int] = 200

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._workspace: str | None = None
        self._channel = ""
        self._names: dict[str, str] = {}  # user id -> display name (an export's users.json)

    def api_configured(self) -> bool:
        return self.probe_configured() and bool(self.config.channel_ids)

    def credentials(self) -> Credentials:
        token = self.config.bot_token
        if token is None:
            raise SourceConfigError(self.source.value, "SLACK_BOT_TOKEN is not set")
        return {"Authorization": f"Bearer {token.get_secret_value()}"}, None

    def account(self, channel: _Channel) -> str | None:
        accounts = self.config.channel_accounts
        return accounts.get(channel.id) or accounts.get(channel.name) or accounts.get(f"#{channel.name}")

    # --- live API ---------------------------------------------------------------------------------------------

    def targets(self) -> tuple[str, ...]:
        return self.config.channel_ids

    def params(self, window: Window) -> dict[str, str | int]:
        params: dict[str, str | int] = {"limit": self.page_size}
        if window.first is not None:
            params["oldest"] = f"{window.first.timestamp():.6f}"
            params["inclusive"] = "true"  # a closed start: the message at the cursor is read again
        return params

    def first_request(self, target: str, window: Window) -> PageRequest:
        return PageRequest(url=self.endpoint, params={"channel": target, **self.params(window)})

    def read_target(self, http: SourceHTTP, target: str, window: Window) -> Iterator[Signal]:
        if self._workspace is None:
            self._workspace = self._auth_test(http)
        self._channel = target
        yield from super().read_target(http, target, window)

    def _auth_test(self, http: SourceHTTP) -> str:
        """The workspace URL; a token Slack refuses stops every channel (asking again cannot help)."""
        try:
            body = parse_json(self.source.value, http.request("GET", "auth.test"))
        except SourceAuthError as exc:
            raise SourceAuthError(self.source.value, exc.detail, status=401) from None
        url = str(body.get("url") or "") if isinstance(body, dict) else ""
        return url.rstrip("/") or (self.config.workspace_url or "")

    def page_records(self, http: SourceHTTP, response: httpx.Response, body: Any) -> list[Any]:
        """The page's messages, each thread parent carrying its replies (`conversations.replies`)."""
        records = super().page_records(http, response, body)
        return [self._with_replies(http, record) for record in records]

    def _with_replies(self, http: SourceHTTP, message: Any) -> Any:
        if not isinstance(message, dict) or not is_human_message(message) or not message.get("reply_count"):
            return message
        ts = str(message.get("ts", ""))
        first = PageRequest(url="conversations.replies", params={"channel": self._channel, "ts": ts, "limit": 200})
        replies: list[Any] = []
        for response, body in paginate(self.sender(http), self.paginator, first, source=self.source.value):
            replies.extend(r for r in super().page_records(http, response, body) if str(r.get("ts")) != ts)
        return {**message, "_replies": replies}

    def where(self, target: str, page: int, index: int, record: Any) -> str:
        ts = record.get("ts") if isinstance(record, dict) else None
        return f"{self.config.api_url}/conversations.history channel {target} page {page} message {ts or index + 1}"

    def to_signal(self, record: Any, where: str) -> Signal | None:
        channel = _Channel(self._channel, "")
        return self._message_signal(record, channel, self._workspace or self.config.workspace_url, where)

    # --- export -----------------------------------------------------------------------------------------------

    def export_records(self, export: ExportFile) -> Iterator[tuple[str, Any]]:
        """(where, (channel, message with `_replies`)) for every message of the chosen channels."""
        files = _ExportTree.open(export)
        self._names = files.users()
        wanted = set(self.config.channel_ids) or set(self.config.channel_accounts)
        for channel in files.channels():
            if wanted and not {channel.id, channel.name, f"#{channel.name}"} & wanted:
                continue
            located = list(files.messages(channel))
            threads: dict[str, list[Any]] = {}
            for _, message in located:
                if isinstance(message, dict) and message.get("thread_ts") not in (None, message.get("ts")):
                    threads.setdefault(str(message["thread_ts"]), []).append(message)
            for where, item in located:
                if isinstance(item, dict) and item.get("thread_ts") not in (None, item.get("ts")):
                    continue  # a reply: folded into its parent
                if isinstance(item, dict) and str(item.get("ts")) in threads:
                    yield where, (channel, {**item, "_replies": threads[str(item["ts"])]})
                else:
                    yield where, (channel, item)

    def export_signal(self, record: Any, where: str) -> Signal | None:
        channel, message = record
        return self._message_signal(message, channel, self.config.workspace_url, where)

    def _export_probe(self) -> list[ProbeResult]:
        path = self.export_path
        if path is None:
            return []
        ok = path.exists() and (path.is_dir() or zipfile.is_zipfile(path))
        detail = f"{path} {'readable' if ok else 'is not a Slack export folder or .zip'}"
        return [ProbeResult("export file", ok, detail, "" if ok else "fix SLACK_EXPORT_PATH")]

    # --- doctor -----------------------------------------------------------------------------------------------

    def probe_configured(self) -> bool:
        return self.config.bot_token is not None and bool(self.config.bot_token.get_secret_value())

    def incomplete(self) -> ProbeResult | None:
        if self.probe_configured() and not self.config.channel_ids:
            fix = "set SLACK_CHANNEL_IDS to the pilot channels' ids (channel name > About > Channel ID)"
            return ProbeResult("channels", False, "SLACK_BOT_TOKEN set but SLACK_CHANNEL_IDS empty", fix)
        return None

    def probes(self) -> list[Probe]:
        token = Probe("token", "auth.test", _AUTH_FIX, _workspace_found)
        return [token] + [
            Probe(
                f"channel {channel}",
                "conversations.history",
                f"invite the bot to {channel} and check SLACK_CHANNEL_IDS",
                params={"channel": channel, "limit": 1},
            )
            for channel in self.config.channel_ids
        ]

    # --- one message ------------------------------------------------------------------------------------------

    def _message_signal(self, message: Any, channel: _Channel, workspace: str | None, where: str) -> Signal | None:
        if not isinstance(message, dict):
            self.skip(where, f"expected a message object, got {type(message).__name__}")
            return None
        if not is_human_message(message) or message.get("thread_ts") not in (None, message.get("ts")):
            return None
        ts = str(message.get("ts") or "")
        try:
            created = _ts_time(ts)
        except ValueError as exc:
            self.skip(where, f"message ts: {exc}")
            return None
        text = slack_text(str(message.get("text") or ""), self._names)
        if not text:
            return None  # a file or an emoji alone: nothing to read
        replies = [r for r in message.get("_replies") or [] if isinstance(r, dict) and is_human_message(r)]
        times = [
            created,
            *_times(message.get("edited", {}).get("ts") if isinstance(message.get("edited"), dict) else None),
        ]
        times += [t for r in replies for t in _times(r.get("ts"))]
        folded = [f"- {slack_text(str(r.get('text') or ''), self._names)}" for r in replies if r.get("text")]
        body = text + ("\n\nThread replies:\n" + "\n".join(folded) if folded else "")
        return Signal(
            source=self.source,
            external_id=f"{channel.id}:{ts}",
            url=message_link(workspace, channel.id, ts),
            title=first_line(text) or f"Slack message {ts}",
            text=body,
            customer=self.account(channel),
            kind_hint=None,
            votes=_votes(message.get("reactions")),
            created_at=created,
            updated_at=max(times),
            tags=guess_tags(body),
        )


@dataclass
class _ExportTree:
    """A workspace export, as a folder or a .zip: `channels.json` (+ `groups.json`) and day files per channel."""

    export: ExportFile
    names: list[str]
    archive: zipfile.ZipFile | None = None

    @classmethod
    def open(cls, export: ExportFile) -> _ExportTree:
        path = export.path
        if path.is_dir():
            names = [p.relative_to(path).as_posix() for p in sorted(path.rglob("*.json"))]
            return cls(export, names)
        if not path.exists():
            raise SourceConfigError(
                export.source, f"{export.setting}={path} does not exist; fix the path or unset {export.setting}"
            )
        if not zipfile.is_zipfile(path):
            raise export.malformed("not a Slack workspace export (a folder or a .zip with channels.json)")
        archive = zipfile.ZipFile(path)
        return cls(export, sorted(n for n in archive.namelist() if n.endswith(".json")), archive)

    def read(self, name: str) -> str:
        try:
            if self.archive is not None:
                return self.archive.read(name).decode("utf-8-sig")
            return (self.export.path / name).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError, KeyError) as exc:
            raise SourceConfigError(self.export.source, f"{self.export.path}/{name} cannot be read ({exc})") from None

    def located(self, name: str, expected: str) -> list[tuple[str, Any]]:
        text = self.read(name)
        try:
            items = json_records(text, None)
        except json.JSONDecodeError as exc:
            raise self._malformed(name, f"not valid JSON ({exc.msg}); expected {expected}", exc.lineno) from None
        except RecursionError:
            raise self._malformed(name, f"JSON nested too deeply to be an export; expected {expected}") from None
        if items is None:
            raise self._malformed(name, f"expected {expected}")
        return [(f"{self.export.path}:{name}:{line or index + 1}", item) for index, (line, item) in enumerate(items)]

    def _malformed(self, name: str, detail: str, line: int | None = None) -> SourceError:
        return self.export.malformed(f"{name}{f':{line}' if line else ''}: {detail}")

    def channels(self) -> list[_Channel]:
        roots = [n for n in self.names if PurePosixPath(n).name in ("channels.json", "groups.json")]
        if not roots:
            raise self.export.malformed("no channels.json: export the workspace from Slack (Settings > Import/Export)")
        out = []
        for root in roots:
            for where, item in self.located(root, "a JSON array of channels"):
                if not isinstance(item, dict) or not item.get("id") or not item.get("name"):
                    raise self.export.malformed(f"{where.split(':', 1)[1]}: a channel needs `id` and `name`")
                out.append(_Channel(str(item["id"]), str(item["name"])))
        return out

    def users(self) -> dict[str, str]:
        """User id -> display name from `users.json` (absent in some exports: mentions then read `@user`)."""
        if "users.json" not in self.names:
            return {}
        names = {}
        for _, user in self.located("users.json", "a JSON array of users"):
            if isinstance(user, dict) and user.get("id"):
                profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
                name = (profile or {}).get("display_name") or user.get("real_name") or user.get("name")
                names[str(user["id"])] = str(name or "user")
        return names

    def messages(self, channel: _Channel) -> Iterator[tuple[str, Any]]:
        for name in self.names:
            parts = PurePosixPath(name).parts
            if len(parts) >= 2 and parts[-2] == channel.name and _DAY_FILE.match(parts[-1]):
                yield from self.located(name, "a JSON array of messages (one day of the channel)")


def _ts_time(ts: str) -> datetime:
    try:
        return datetime.fromtimestamp(float(ts), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{ts!r} is not a Slack timestamp (e.g. 1730641500.000200)") from None


def _times(ts: Any) -> list[datetime]:
    try:
        return [_ts_time(str(ts))] if ts else []
    except ValueError:
        return []


def _votes(reactions: Any) -> int | None:
    if not isinstance(reactions, list):
        return None
    counts = [
        r.get("count")
        for r in reactions
        if isinstance(r, dict) and str(r.get("name")).split("::")[0] in _VOTE_REACTIONS
    ]
    return sum(c for c in counts if isinstance(c, int) and not isinstance(c, bool))


def _workspace_found(body: Any) -> tuple[bool, str, str]:
    if isinstance(body, dict) and body.get("ok") is True:
        return True, f"workspace {body.get('url') or body.get('team')} as {body.get('user') or 'the bot'}", ""
    return False, f"auth.test answered {body!r:.120}", _AUTH_FIX


__all__ = [
    "SLACK_ERRORS",
    "SlackConfig",
    "SlackConnector",
    "is_human_message",
    "message_link",
    "slack_decide",
    "slack_text",
]
