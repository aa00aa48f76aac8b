"""SourceHTTP: one source's httpx client, run through the decision table, the retry policy and a rate limiter.

Every call is counted (`calls`), so a sync reports what each source cost. A failure is a `SourceError` whose
class follows the table's failure type and whose message names the request, the status, the source's own
error text (first 200 characters, never a secret) and the setting to fix (`setting_hint`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from connectors.http.deadline import send_within
from connectors.http.decide import DEFAULT_TABLE, Decision, Outcome, ResponseAction
from connectors.http.errors import (
    ERROR_FOR,
    MalformedPayloadError,
    SourceConfigError,
    SourceError,
    SourceUnavailableError,
)
from connectors.http.ratelimit import RateLimiter, WindowBudget
from connectors.http.retry import RetryExhaustedError, RetryPolicy

log = structlog.get_logger(__name__)


def require_http_url(source: str, url: str, setting: str) -> str:
    """`url` when it is an absolute http(s) URL; else a `SourceConfigError` naming the setting (never a retry)."""
    name = setting or "the base URL"
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise SourceConfigError(source, f"{name}={url!r} is not a URL ({exc})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        example = "https://" + url.split("://", 1)[-1]
        raise SourceConfigError(
            source, f"{name}={url!r} is not an http(s) URL; write it with its scheme, e.g. {name}={example}"
        )
    return url


@dataclass
class SourceHTTP:
    """An httpx client for one source with retries, rate limiting and clear failures.

    `setting_hint` maps a status (401, 403, 404) to the sentence telling the operator which setting or
    permission to fix; `base_url_setting` names the setting `base_url` came from.
    """

    source: str
    base_url: str
    headers: dict[str, str] = field(default_factory=dict)
    auth: httpx.Auth | tuple[str, str] | None = None
    setting_hint: Mapping[int, str] = field(default_factory=dict)
    decide: Callable[[Outcome], Decision] = DEFAULT_TABLE
    max_retries: int = 5
    timeout_s: float = 30.0
    rate_limiter: RateLimiter | None = None
    budget: WindowBudget | None = None
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    max_wait_s: float = 300.0
    backoff_budget_s: float = 60.0
    base_url_setting: str = ""
    calls: int = 0
    _client: httpx.Client | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        require_http_url(self.source, self.base_url, self.base_url_setting)

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                base_url=self.base_url,
                headers=self.headers,
                auth=self.auth,
                timeout=self.timeout_s,
                transport=self.transport,
                follow_redirects=True,
            )
        return self._client

    @property
    def policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_retries=self.max_retries,
            max_wait_s=self.max_wait_s,
            backoff_budget_s=self.backoff_budget_s,
            sleep=self.sleep,
            clock=self.clock,
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def action(self, response: httpx.Response) -> ResponseAction:
        """What the table says about a response that `request` returned (SUCCESS, NOT_MODIFIED or IGNORE)."""
        return self.decide(response).action

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request; retry what is retryable; raise a `SourceError` for the rest.

        Returns the response for SUCCESS, NOT_MODIFIED and IGNORE (see `action`).
        """
        try:
            response = self.policy.call(
                lambda: self._send_once(method, url, **kwargs), self.decide, on_retry=self._on_retry
            )
        except RetryExhaustedError as exc:
            last = f": {exc.outcome}" if isinstance(exc.outcome, BaseException) and str(exc.outcome) else ""
            raise SourceUnavailableError(self.source, f"{method} {url} {exc}{last}") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self._transport_failure(exc) from None
        decision = self.decide(response)
        if decision.action is ResponseAction.FAIL:
            raise self._failure(response, decision)
        self._respect_budget(response)
        return response

    def get_json(self, url: str, **kwargs: Any) -> Any:
        """GET and decode JSON; a non-JSON body is a `MalformedPayloadError`."""
        return parse_json(self.source, self.request("GET", url, **kwargs))

    def _send_once(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if self.rate_limiter is not None:
            self.rate_limiter.acquire()
        self.calls += 1
        request = self.client.build_request(method, url, **kwargs)
        return send_within(self.client, request, self.timeout_s)  # a total deadline, not httpx's per-read one

    def _on_retry(self, decision: Decision, outcome: object, wait_s: float) -> None:
        if decision.action is ResponseAction.RATE_LIMITED and decision.wait_s and self.rate_limiter:
            self.rate_limiter.pause(decision.wait_s)
        status = outcome.status_code if isinstance(outcome, httpx.Response) else None
        log.info("source.retry", source=self.source, status=status, reason=decision.reason, wait_s=round(wait_s, 3))

    def _respect_budget(self, response: httpx.Response) -> None:
        wait = self.budget.wait_s(response.headers) if self.budget is not None else None
        if wait:
            log.info("source.budget_exhausted", source=self.source, url=str(response.request.url.path), wait_s=wait)
            self.sleep(min(wait, self.max_wait_s))

    def _transport_failure(self, exc: Exception) -> SourceError:
        decision = self.decide(exc)
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
            setting = self.base_url_setting or "the base URL"
            return SourceConfigError(self.source, f"{setting}={self.base_url!r}: {exc}. {decision.hint}".strip())
        return ERROR_FOR[decision.failure_type](self.source, f"{decision.reason} ({exc})")

    def _failure(self, response: httpx.Response, decision: Decision) -> SourceError:
        status = response.status_code
        detail = _error_detail(response)
        hint = self.setting_hint.get(status, "") or decision.hint
        where = f"{response.request.method} {response.request.url.copy_with(query=None)}"
        message = f"{where} -> {status} {detail}".strip() + (f". {hint}" if hint else "")
        return ERROR_FOR[decision.failure_type](self.source, message or decision.reason, status=status)


def parse_json(source: str, response: httpx.Response) -> Any:
    """The JSON body; an HTML page, an empty or a truncated body is a `MalformedPayloadError` naming the URL."""
    try:
        return response.json()
    except ValueError as exc:
        where = f"{response.request.method} {response.request.url.copy_with(query=None)}"
        raise MalformedPayloadError(source, f"{where} returned {_not_json(response, exc)}, expected JSON") from None


def _not_json(response: httpx.Response, exc: ValueError) -> str:
    """What came back instead of JSON, in words an operator can act on."""
    kind = response.headers.get("content-type", "").split(";")[0].strip() or "no content-type"
    text = response.text.lstrip()
    if "html" in kind or text[:1] == "<":
        return f"an HTML page ({kind}, HTTP {response.status_code}): a proxy, a login page or a wrong base URL"
    if not text:
        return f"an empty body (HTTP {response.status_code})"
    return f"truncated or invalid JSON ({len(response.content)} bytes, {exc})"


def _error_detail(response: httpx.Response) -> str:
    """A short, secret-free description of an error body (first 200 chars of its message)."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    if isinstance(body, dict):
        for key in ("message", "error", "description", "errors"):
            if key in body:
                return str(body[key])[:200]
    return response.reason_phrase


__all__ = ["SourceHTTP", "parse_json", "require_http_url"]
