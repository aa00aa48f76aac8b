"""What a failed Notion call becomes: one `NotionError` tree, and the mapping from `notion_client`/httpx errors.

Every message names what was being done (page/row/setting) and how to fix it; Notion's own words are kept,
with secrets redacted. `RetryableError` is internal: the session retries it and never lets it out.
"""

from __future__ import annotations

import json

import httpx
from notion_client.errors import HTTPResponseError, NotionClientErrorBase, RequestTimeoutError

from connectors.http import retry_after_seconds
from service.logging import redact_text

RETRY_STATUSES = frozenset({409, 500, 502, 503, 504})  # 409 conflict_error: Notion says "try again"
RATE_LIMIT_STATUSES = frozenset({429, 529})
DEFAULT_RATE_LIMIT_WAIT_S = 1.0  # a 429/529 without Retry-After still pauses everyone this long
BLOCK_LIMIT_DOC = "https://developers.notion.com/reference/workspace-block-limits"
SHARE_HINT = "share the page/database with the integration in Notion (••• > Connections > add the integration)"


class NotionError(Exception):
    """A Notion call failed; the message names what was being done (page/row/setting) and how to fix it."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class NotionAuthError(NotionError):
    """401 (token invalid or revoked) or 403 (the integration lacks a capability)."""


class NotionBlockLimitError(NotionError):
    """403 with `additional_data.block_limit`: the workspace may create no more blocks (pages, rows, content).

    Edits, reads and deletes keep working, so a run stops creating and goes on updating."""


class NotionNotFoundError(NotionError):
    """404: the object does not exist or is not shared with the integration (or the database is not set up)."""


class NotionValidationError(NotionError):
    """400: Notion refused the request body; the message has Notion's words and the page/row/property."""


class NotionInTrashError(NotionValidationError):
    """400 for a write to a page in Notion's trash ("Can't edit block that is archived. You must unarchive the
    block before editing."): the PM deleted it since this service last read it."""


class NotionUnavailableError(NotionError):
    """Rate limits, 5xx or timeouts still failing after every retry."""


class RetryableError(Exception):
    """One attempt failed in a way worth retrying. `uncertain`: the write may have been applied."""

    def __init__(
        self,
        reason: str,
        *,
        status: int | None,
        wait_s: float | None,
        uncertain: bool,
        limit_reason: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.wait_s = wait_s
        self.uncertain = uncertain
        self.limit_reason = limit_reason

    @property
    def rate_limited(self) -> bool:
        """Notion asked every caller to slow down (429, or 529 "service_overload", treated alike: the shared
        limiter pauses for `wait_s`, or `DEFAULT_RATE_LIMIT_WAIT_S` when Notion gave no Retry-After)."""
        return self.status in RATE_LIMIT_STATUSES

    @property
    def limit(self) -> str:
        """Which of Notion's limits was hit: "connection", "workspace", "overload" (529) or "unknown"."""
        return limit_kind(self.status, self.limit_reason)


def rate_limit_reason(exc: HTTPResponseError) -> str | None:
    """Notion's `additional_data.rate_limit_reason` on a 429 body (which limit was exceeded), or None."""
    data = getattr(exc, "additional_data", None)
    if not isinstance(data, dict):
        body = getattr(exc, "body", None)
        try:
            parsed = json.loads(body) if isinstance(body, str | bytes) and body else None
        except ValueError:
            parsed = None
        data = parsed.get("additional_data") if isinstance(parsed, dict) else None
    reason = data.get("rate_limit_reason") if isinstance(data, dict) else None
    return str(reason)[:80] if reason else None


def limit_kind(status: int | None, reason: str | None) -> str:
    """The limit a rate-limit answer names: the per-workspace budget (shared by every connection of the
    workspace), the per-connection one (this integration's window budget), an overload (529), or unknown."""
    text = (reason or "").lower()
    if "workspace" in text:
        return "workspace"
    if any(word in text for word in ("connection", "integration", "public_api", "request_rate")):
        return "connection"
    return "overload" if status == 529 else "unknown"


CALL_ERRORS = (NotionClientErrorBase, httpx.TransportError)  # what `classify` knows; anything else is a bug


def classify(exc: NotionClientErrorBase | httpx.TransportError, what: str, *, sandbox: bool) -> Exception:
    """The exception one failed attempt becomes: a `RetryableError`, or the `NotionError` to raise at once."""
    if isinstance(exc, RequestTimeoutError | httpx.TimeoutException):
        return RetryableError("timeout", status=None, wait_s=None, uncertain=True)
    if isinstance(exc, httpx.TransportError):  # connection refused/reset: a connect error never reached Notion
        uncertain = not isinstance(exc, httpx.ConnectError)
        failure = f"transport error {type(exc).__name__}"
        if isinstance(exc, httpx.ConnectError):  # the host never answered: DNS, firewall, proxy, or NOTION_API_URL
            host = "the local sandbox (is `backlog sandbox` running?)" if sandbox else "Notion's API"
            failure += f": could not connect to {host}; check this host's network, DNS and proxy, and NOTION_API_URL"
        return RetryableError(failure, status=None, wait_s=None, uncertain=uncertain)
    if isinstance(exc, HTTPResponseError):
        status = int(exc.status)
        if status in RATE_LIMIT_STATUSES or status in RETRY_STATUSES:
            # A 429 was refused before any work; a 5xx (529 included) may have been applied.
            wait_s = retry_after_seconds(exc.headers)
            if status in RATE_LIMIT_STATUSES and not wait_s:
                wait_s = DEFAULT_RATE_LIMIT_WAIT_S
            reason = rate_limit_reason(exc) if status in RATE_LIMIT_STATUSES else None
            return RetryableError(
                f"HTTP {status}", status=status, wait_s=wait_s, uncertain=status >= 500, limit_reason=reason
            )
        return error_from_response(exc, what, sandbox=sandbox)
    return NotionError(f"{what}: {exc}")  # e.g. an invalid path parameter: a bug or a bad id in a setting


def is_block_limit(exc: HTTPResponseError) -> bool:
    """Notion's block-limit answer: `additional_data.block_limit` on the error body (the documented marker)."""
    data = getattr(exc, "additional_data", None)
    return isinstance(data, dict) and "block_limit" in data


def is_in_trash(said: str) -> bool:
    """Notion's refusal of a write to a page (or block) in the trash, by its words (it has no code of its own)."""
    lowered = said.lower()
    return "unarchive" in lowered or "is archived" in lowered


def error_from_response(exc: HTTPResponseError, what: str, *, sandbox: bool) -> NotionError:
    """A Notion error response as the right `NotionError`, with Notion's message, what we did and the fix."""
    status = int(exc.status)
    code = str(getattr(exc.code, "value", exc.code))
    said = redact_text(str(exc) or f"HTTP {status}")
    doing = f"{what}: " if what else ""
    if status == 401:
        fix = (
            "BACKLOG_SANDBOX_TOKEN does not match the local sandbox's token (NOTION_TOKEN is unset, so the sandbox "
            "is used); unset BACKLOG_SANDBOX_TOKEN or set NOTION_TOKEN"
            if sandbox
            else "NOTION_TOKEN is invalid or revoked: copy the integration's secret from "
            "https://www.notion.so/profile/integrations into NOTION_TOKEN"
        )
        return NotionAuthError(f"{doing}{fix} (Notion said: {said})", status=status, code=code)
    if status == 403 and is_block_limit(exc):
        return NotionBlockLimitError(
            f"{doing}this Notion workspace has used all the blocks its plan lets integrations create (Free "
            "workspaces with more than one member: 1,000 lifetime blocks; every row and page is one, deleting "
            "gives none back), so nothing new can be created (updates still work). Fix: upgrade the workspace's "
            "plan, or use a single-member workspace, or connect with a personal access token, which the limit "
            f"does not apply to ({BLOCK_LIMIT_DOC}) (Notion said: {said})",
            status=status,
            code=code,
        )
    if status == 403:
        return NotionAuthError(
            f"{doing}the integration may not do this (Notion said: {said}); enable the read, update and insert "
            "content capabilities of the integration and " + SHARE_HINT,
            status=status,
            code=code,
        )
    if status == 404:
        return NotionNotFoundError(f"{doing}not found (Notion said: {said}); {SHARE_HINT}", status=status, code=code)
    if status in (400, 413, 422):
        trashed = status == 400 and is_in_trash(said)
        kind = NotionInTrashError if trashed else NotionValidationError
        text = "the page is in Notion's trash (restore it to keep it)" if trashed else "Notion refused the request"
        return kind(f"{doing}{text}: {said}", status=status, code=code)
    return NotionError(f"{doing}Notion answered {status}: {said}", status=status, code=code)
