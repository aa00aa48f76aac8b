"""GitHub issues as feedback: the repo issues API (Link-header pages, ETags) or a `gh issue list --json` export.

Votes are 👍 reactions only (GitHub's "+1"): other reactions (🎉, 👀, 👎) are not demand. Pull requests are
dropped: the issues API returns them too, and they are work, not feedback.

ETag cache: the first page's ETag per (repo, query) lives in a small JSON file under `BACKLOG_CACHE_DIR`, and is
kept only when that page was the whole answer. With `sort=updated&direction=asc` a change lands on the LAST page,
so an unchanged first page of a multi-page answer proves nothing; a single page that is unchanged proves
everything. A 304 costs one call and yields nothing. Losing the file costs calls, never data.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlencode, urlparse

import httpx
import structlog
from pydantic import SecretStr

from connectors.base import Connector, Credentials, Probe, SourceConfig
from connectors.cursor import Window
from connectors.exports import ExportFile
from connectors.http import (
    DEFAULT_TABLE,
    Decision,
    LinkHeaderPaginator,
    PageRequest,
    ResponseAction,
    SourceHTTP,
    retry_after_seconds,
)
from connectors.signal import Signal, SourceName
from connectors.text import (
    describe_id,
    first_line,
    guess_kind,
    guess_tags,
    html_to_text,
    parse_id,
    parse_timestamp,
)

log = structlog.get_logger(__name__)

_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_BAD_CREDENTIALS_HINT = "Check GITHUB_TOKEN: it is missing, expired or revoked."
# GitHub documents "wait at least one minute" for a secondary rate limit that names no wait.
SECONDARY_LIMIT_WAIT_S = 60.0


def github_rate_limits(response: httpx.Response) -> Decision | None:
    """GitHub's rate-limit dialect, pure: the wait comes from the response's own headers (and its `Date`).

    Primary limit: 403/429 with `x-ratelimit-remaining: 0` -> wait until `x-ratelimit-reset` (epoch seconds),
    measured against the response's `Date` so a skewed local clock cannot shorten the wait. Secondary limit:
    `retry-after`, or a 403 body saying "secondary rate limit" -> one minute; a bare 429 -> the policy's
    capped back-off. Any other 403 is a permission error.
    """
    status = response.status_code
    if status in (403, 429):
        headers = response.headers
        if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset"):
            try:
                reset = float(headers["x-ratelimit-reset"])
            except ValueError:
                reset = None
            if reset is not None:
                now = _response_time(headers)
                wait = max(0.0, reset - now) if now is not None else SECONDARY_LIMIT_WAIT_S
                return Decision(ResponseAction.RATE_LIMITED, wait, "primary rate limit exhausted")
        retry_after = retry_after_seconds(headers)
        if retry_after is not None:
            return Decision(ResponseAction.RATE_LIMITED, retry_after, "secondary rate limit")
        if status == 403 and "rate limit" in response.text.lower():
            return Decision(ResponseAction.RATE_LIMITED, SECONDARY_LIMIT_WAIT_S, "secondary rate limit")
        if status == 429:  # no wait named: the policy's capped exponential back-off, not a minute per retry
            return Decision(ResponseAction.RATE_LIMITED, None, "rate limited without Retry-After")
    return None  # any other 403 is the table's: a permission error


github_decide = DEFAULT_TABLE.override({403: github_rate_limits, 429: github_rate_limits})


def _response_time(headers: Mapping[str, str]) -> float | None:
    value = headers.get("date")
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


class ETagCache:
    """`{"owner/repo?query": etag}` in one JSON file. Unreadable or unwritable -> behave as empty, log, go on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._etags: dict[str, str] = {}
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("github.etag_cache_unreadable", path=str(path), error=str(exc))
            return
        if isinstance(loaded, dict):
            self._etags = {str(k): str(v) for k, v in loaded.items() if isinstance(v, str)}

    def get(self, key: str) -> str | None:
        return self._etags.get(key)

    def put(self, key: str, etag: str | None) -> None:
        if etag:
            self._etags[key] = etag
        else:
            self._etags.pop(key, None)

    def save(self) -> None:
        """Atomic replace, so a killed run never leaves half a file."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".github_etags.", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self._etags, handle, indent=1, sort_keys=True)
            Path(tmp).replace(self.path)
        except OSError as exc:
            log.warning("github.etag_cache_unwritable", path=str(self.path), error=str(exc))


@dataclass(frozen=True, kw_only=True)
class GitHubConfig(SourceConfig):
    """GITHUB_* settings (plus the cache directory the ETags live in)."""

    api_url: str = "https://api.github.com"
    token: SecretStr | None = None
    repos: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    cache_dir: Path = Path(".backlog/cache")


class GitHubConnector(Connector):
    """Issues of `GITHUB_REPOS` (labels `GITHUB_LABELS`, all states), or a `gh issue list --json` export file."""

    config: GitHubConfig
    source = SourceName.GITHUB
    enable_hint = "set GITHUB_REPOS=owner/name[,owner/name] (and GITHUB_TOKEN for private repos), or GITHUB_EXPORT_PATH"
    base_url_setting = "GITHUB_API_URL"
    export_setting = "GITHUB_EXPORT_PATH"
    setting_hints: ClassVar[Mapping[int, str]] = {
        401: _BAD_CREDENTIALS_HINT,
        403: "The GITHUB_TOKEN lacks access to this repo: a fine-grained token needs 'Issues: read' on it;"
        " an organisation with SAML SSO needs the token authorised for SSO.",
        404: "Check the repo in GITHUB_REPOS (owner/name, spelled as on GitHub) and GITHUB_API_URL;"
        " a private repo also needs a GITHUB_TOKEN that can see it.",
    }
    decide = github_decide
    endpoint = "repos/{target}/issues"
    issues_path: ClassVar[str] = endpoint
    paginator = LinkHeaderPaginator()
    records_expected = "a JSON array of issues"
    page_size: ClassVar[int] = 100
    etag_file: ClassVar[str] = "github_etags.json"
    export_fields: ClassVar[str] = "number,title,body,labels,createdAt,updatedAt,url,reactionGroups,author,state"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cache: ETagCache | None = None
        self._etags: list[str | None] = []  # the ETag of each page of the repo being read
        self._repo = ""  # the repo being read

    def api_configured(self) -> bool:
        # Public repos need no token (at 60 requests/hour); the repo list is what turns the API on.
        return bool(self.config.repos)

    def credentials(self) -> Credentials:
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "backlog-grooming",
        }
        token = self.config.token
        if token is not None and token.get_secret_value():
            headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        return headers, None

    # --- live API ---------------------------------------------------------------------------------------------

    def targets(self) -> list[str]:
        """The repos of GITHUB_REPOS; one that is not owner/name is reported and skipped."""
        repos = []
        for repo in self.config.repos:
            if _REPO.match(repo):
                repos.append(repo)
            else:
                self.skip("GITHUB_REPOS", f"{repo!r} is not owner/name (e.g. acme/open-voice); skipped")
        return repos

    def params(self, window: Window) -> dict[str, str | int]:
        params: dict[str, str | int] = {
            "state": "all",
            "sort": "updated",
            "direction": "asc",
            "per_page": str(self.page_size),
        }
        if window.first is not None:
            params["since"] = window.first.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.config.labels:
            # GitHub ANDs the labels: an issue must carry every one of them.
            params["labels"] = ",".join(self.config.labels)
        return params

    def first_request(self, target: str, window: Window) -> PageRequest:
        request = super().first_request(target, window)
        etag = self.cache.get(_cache_key(target, request))
        return PageRequest(request.url, params=request.params, headers={"If-None-Match": etag} if etag else {})

    @property
    def cache(self) -> ETagCache:
        if self._cache is None:
            self._cache = ETagCache(self.config.cache_dir / self.etag_file)
        return self._cache

    def read_target(self, http: SourceHTTP, target: str, window: Window) -> Iterator[Signal]:
        self._etags, self._repo = [], target
        yield from super().read_target(http, target, window)
        if self._etags == ["304"]:
            log.info("github.not_modified", repo=target)
            return
        # Reached only when every page was read (and every signal consumed).
        key = _cache_key(target, super().first_request(target, window))
        self.cache.put(key, self._etags[0] if len(self._etags) == 1 else None)
        self.cache.save()

    def page_done(self, target: str, page: int, response: httpx.Response) -> None:
        self._etags.append("304" if response.status_code == 304 else response.headers.get("etag"))

    def where(self, target: str, page: int, index: int, record: Any) -> str:
        return f"{target} issues page {page} item {index}"

    def to_signal(self, record: Any, where: str) -> Signal | None:
        return self._issue_signal(self._repo, record, where)

    # --- doctor -----------------------------------------------------------------------------------------------

    def probes(self) -> list[Probe]:
        fix = "check GITHUB_REPOS and that GITHUB_TOKEN can read issues of this repo"
        return [Probe(f"repo {repo}", f"/repos/{repo}", fix, _has_issues(repo)) for repo in self.config.repos]

    def _issue_signal(self, repo: str, item: object, where: str) -> Signal | None:
        if not isinstance(item, dict):
            self.skip(where, f"expected an issue object, got {type(item).__name__}")
            return None
        if item.get("pull_request") is not None:
            return None  # a pull request: work, not feedback
        number = item.get("number")
        if parse_id(number) is None or not isinstance(number, int):
            self.skip(where, f"issue 'number': {describe_id(number)}")
            return None
        where = str(item.get("html_url") or f"{repo}#{number}")
        try:
            created = parse_timestamp(item.get("created_at"))
            updated = parse_timestamp(item.get("updated_at"))
        except ValueError as exc:
            self.skip(where, f"created_at/updated_at: {exc}")
            return None
        labels = _label_names(item.get("labels"))
        reactions = item.get("reactions")
        votes = self.votes(reactions.get("+1"), where) if isinstance(reactions, dict) else None
        return self._signal(
            repo=repo,
            number=number,
            url=item.get("html_url"),
            title=item.get("title"),
            body=item.get("body"),
            labels=labels,
            votes=votes,
            created=created,
            updated=updated,
        )

    def _signal(
        self,
        *,
        repo: str,
        number: int,
        url: object,
        title: object,
        body: object,
        labels: list[str],
        votes: int | None,
        created: datetime,
        updated: datetime,
    ) -> Signal:
        text = html_to_text(body) if isinstance(body, str) else ""
        heading = first_line(title) if isinstance(title, str) and title.strip() else ""
        heading = heading or first_line(text) or f"Issue #{number} in {repo}"
        return Signal(
            source=self.source,
            external_id=f"{repo}#{number}",
            url=url if isinstance(url, str) and url else None,
            title=heading,
            text=text,
            customer=None,  # GitHub logins are people, not accounts; the PM adds the customer when known
            kind_hint=guess_kind(heading, text, labels=labels),
            votes=votes,
            created_at=created,
            updated_at=updated,
            tags=guess_tags(heading, text),
        )

    # --- export file ------------------------------------------------------------------------------------------

    def export_records(self, export: ExportFile) -> Iterator[tuple[str, Any]]:
        """`gh issue list --json <any fields>` or `gh api repos/o/r/issues` (one page or `--paginate`d pages)."""
        expected = f"a JSON array of issues (`gh issue list --json {self.export_fields}`)"
        yield from export.records(None, expected)

    def export_signal(self, record: Any, where: str) -> Signal | None:
        if isinstance(record, dict) and ("html_url" in record or "created_at" in record):
            return self._rest_export_signal(record, where)
        return self._export_signal(record, where)

    def _rest_export_signal(self, item: dict[str, Any], where: str) -> Signal | None:
        """A REST issue from a file: the repo comes from `html_url` (the file does not say which repo it read)."""
        if item.get("pull_request") is not None:
            return None
        url = item.get("html_url")
        located = _repo_and_kind_from_url(url) if isinstance(url, str) else None
        if located is None:
            self.skip(where, f"'html_url' {url!r} is not an issue URL like https://github.com/owner/repo/issues/1")
            return None
        return self._issue_signal(located[0], item, where)

    def _export_signal(self, item: object, where: str) -> Signal | None:
        if not isinstance(item, dict):
            self.skip(where, f"expected an issue object, got {type(item).__name__}")
            return None
        url = item.get("url")
        located = _repo_and_kind_from_url(url) if isinstance(url, str) else None
        if located is None:
            self.skip(where, f"'url' {url!r} is not an issue URL like https://github.com/owner/repo/issues/123")
            return None
        repo, url_kind, url_number = located
        if url_kind == "pull":
            return None
        number = item.get("number", url_number)
        if parse_id(number) is None or not isinstance(number, int):
            self.skip(where, f"'number': {describe_id(number)}")
            return None
        self._note_missing_fields(item)
        try:
            updated = parse_timestamp(item.get("updatedAt") or item.get("createdAt"))
            created = parse_timestamp(item["createdAt"]) if item.get("createdAt") is not None else updated
        except ValueError as exc:
            self.skip(where, f"createdAt/updatedAt: {exc}")
            return None
        return self._signal(
            repo=repo,
            number=number,
            url=url,
            title=item.get("title"),
            body=item.get("body"),
            labels=_label_names(item.get("labels")),
            votes=self.votes(_thumbs_up(item.get("reactionGroups")), where),
            created=created,
            updated=updated,
        )

    def _note_missing_fields(self, item: Mapping[str, Any]) -> None:
        """Once per file: which useful `gh --json` fields the export lacks, and the line that adds them."""
        missing = [f for f in self.export_fields.split(",") if f not in item]
        if missing:
            self.notice(
                f"{self.export_path}: the export has no {', '.join(missing)} (createdAt missing: updatedAt is used);"
                f" export with `gh issue list --state all --json {self.export_fields}` to get them"
            )


def _repo_and_kind_from_url(url: str) -> tuple[str, str, int] | None:
    """`https://github.com/acme/open-voice/issues/12` -> ("acme/open-voice", "issues", 12); GHE hosts too."""
    parts = [part for part in urlparse(url).path.split("/") if part]
    if len(parts) < 4 or parts[-2] not in ("issues", "pull") or not parts[-1].isdigit():
        return None
    return f"{parts[-4]}/{parts[-3]}", parts[-2], int(parts[-1])


def _label_names(labels: object) -> list[str]:
    """REST gives label objects (`{"name": ...}`), older payloads plain strings; both become names."""
    if not isinstance(labels, list):
        return []
    names: list[str] = []
    for label in labels:
        name = label.get("name") if isinstance(label, dict) else label
        if isinstance(name, str) and name.strip():
            names.append(name.strip())
    return names


def _thumbs_up(groups: object) -> int | None:
    """gh's `reactionGroups`: `[{"content": "THUMBS_UP", "users": {"totalCount": 5}}]` -> 5 (0 when none)."""
    if not isinstance(groups, list):
        return None
    for group in groups:
        if isinstance(group, dict) and group.get("content") == "THUMBS_UP":
            users = group.get("users")
            return _int_or_none(users.get("totalCount")) if isinstance(users, dict) else None
    return 0


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _cache_key(repo: str, request: PageRequest) -> str:
    return f"{repo}?{urlencode(sorted((k, str(v)) for k, v in request.params.items()))}"


def _has_issues(repo: str) -> Any:
    def judge(body: Any) -> tuple[bool, str, str]:
        if isinstance(body, dict) and body.get("has_issues") is False:
            return False, f"{repo} has issues disabled", "enable Issues or remove it from GITHUB_REPOS"
        return True, f"{repo} readable", ""

    return judge


__all__ = ["ETagCache", "GitHubConfig", "GitHubConnector", "github_decide"]
