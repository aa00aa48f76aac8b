"""The one HTTP layer every connector uses: httpx + tenacity, errors as data, tiny paginators.

How a response is handled is decided by one pure function of the response (`decide`, in the spirit of
airbyte-cdk's `ResponseAction`): success, retry (5xx, timeouts), rate-limited (wait `Retry-After` or the
source's reset header), not-modified (ETag hit) or fail (a clear `SourceError` naming the setting to fix).
A connector overrides `decide` only where its source speaks its own dialect (Discord's JSON `retry_after`).

Exception tree::

    SourceError                      any failure of one source; the run reports it and goes on
    ├── SourceConfigError            a setting is missing or wrong (exit code 2 territory)
    ├── SourceAuthError              401/403: the token or a permission/scope is wrong
    ├── SourceNotFoundError          404: the URL, id or repo in a setting does not exist
    ├── SourceUnavailableError       5xx / timeouts / rate limits still failing after every retry
    ├── PaginationLoopError          the source handed back a page token it already gave
    └── MalformedPayloadError        the body is not what the API documents (names the field)
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any

import httpx
import tenacity

from service.logging import get_logger  # logging is configured once by the entry point

log = get_logger(__name__)


class SourceError(Exception):
    """A source failed; `source` names it. The message says what to fix."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source


class SourceConfigError(SourceError):
    """A setting is missing or invalid."""


class SourceAuthError(SourceError):
    """401/403 from the source."""


class SourceNotFoundError(SourceError):
    """404 from the source."""


class SourceUnavailableError(SourceError):
    """Retries exhausted on 5xx, timeouts or rate limits."""


class PaginationLoopError(SourceError):
    """A paginator saw the same page token twice."""


class MalformedPayloadError(SourceError):
    """The response body does not have the documented shape."""


class ResponseAction(Enum):
    SUCCESS = "success"
    NOT_MODIFIED = "not_modified"
    RETRY = "retry"
    RATE_LIMITED = "rate_limited"
    FAIL = "fail"


@dataclass(frozen=True)
class Decision:
    """What to do with a response. `wait_s` is honoured for RETRY/RATE_LIMITED when set."""

    action: ResponseAction
    wait_s: float | None = None
    reason: str = ""


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Parse `Retry-After` (delta-seconds or HTTP date). None when absent or unreadable."""
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (now if now is not None else time.time()))


def default_decide(response: httpx.Response) -> Decision:
    """The common mapping of a response to an action. Pure: depends on the response only."""
    status = response.status_code
    if status == 304:
        return Decision(ResponseAction.NOT_MODIFIED)
    if 200 <= status < 300:
        return Decision(ResponseAction.SUCCESS)
    if status == 429:
        return Decision(ResponseAction.RATE_LIMITED, retry_after_seconds(response.headers), "rate limited")
    if status in (500, 502, 503, 504, 520, 522, 524, 529):
        return Decision(ResponseAction.RETRY, retry_after_seconds(response.headers), f"server error {status}")
    return Decision(ResponseAction.FAIL, reason=f"HTTP {status}")


class _RetryableError(Exception):
    """Internal: raised inside the tenacity loop for a response or transport error worth retrying."""

    def __init__(self, reason: str, wait_s: float | None) -> None:
        super().__init__(reason)
        self.wait_s = wait_s


class RateLimiter:
    """A token bucket shared by every thread that holds it: at most `rate` acquisitions per second."""

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(self.burst)
        self._last = clock()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until a request may be sent; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            wait = 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate
            self._tokens -= 1
        if wait > 0:
            self._sleep(wait)
        return wait

    def pause(self, seconds: float) -> None:
        """A server said "wait": empty the bucket so every thread waits, not only the one that was told."""
        with self._lock:
            self._tokens = min(self._tokens, 1 - seconds * self.rate)


@dataclass
class SourceHTTP:
    """An httpx client for one source with retries, rate limiting and clear failures.

    `setting_hint` maps a status (401, 403, 404) to the sentence telling the operator which setting or
    permission to fix; it is part of the `SourceError` message.
    """

    source: str
    base_url: str
    headers: dict[str, str] = field(default_factory=dict)
    auth: httpx.Auth | tuple[str, str] | None = None
    setting_hint: dict[int, str] = field(default_factory=dict)
    decide: Callable[[httpx.Response], Decision] = default_decide
    max_retries: int = 5
    timeout_s: float = 30.0
    rate_limiter: RateLimiter | None = None
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep
    max_wait_s: float = 300.0
    calls: int = 0
    _client: httpx.Client | None = field(default=None, init=False, repr=False)

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

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableError) and exc.wait_s is not None:
            return min(exc.wait_s, self.max_wait_s)
        # Exponential back-off with full jitter: 0.5, 1, 2, 4 ... seconds, capped.
        base: float = min(0.5 * 2.0 ** (state.attempt_number - 1), 30.0)
        return base / 2 + random.random() * base / 2

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request; retry what is retryable; raise a `SourceError` for the rest.

        Returns the response for SUCCESS and NOT_MODIFIED (callers check `status_code == 304`).
        """
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_RetryableError),
            stop=tenacity.stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            sleep=self.sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._send_once(method, url, **kwargs)
        except _RetryableError as exc:
            raise SourceUnavailableError(
                self.source, f"{method} {url} still failing after {self.max_retries + 1} attempts ({exc})"
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _send_once(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if self.rate_limiter is not None:
            self.rate_limiter.acquire()
        self.calls += 1
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            log.warning("source.timeout", source=self.source, url=url)
            raise _RetryableError(f"timeout: {exc.__class__.__name__}", None) from exc
        except httpx.TransportError as exc:
            log.warning("source.transport_error", source=self.source, url=url, error=str(exc))
            raise _RetryableError(f"transport error: {exc}", None) from exc
        decision = self.decide(response)
        if decision.action in (ResponseAction.SUCCESS, ResponseAction.NOT_MODIFIED):
            return response
        if decision.action in (ResponseAction.RETRY, ResponseAction.RATE_LIMITED):
            if decision.action is ResponseAction.RATE_LIMITED and decision.wait_s and self.rate_limiter:
                self.rate_limiter.pause(decision.wait_s)
            log.info(
                "source.retry",
                source=self.source,
                url=url,
                status=response.status_code,
                reason=decision.reason,
                wait_s=decision.wait_s,
            )
            raise _RetryableError(decision.reason or f"HTTP {response.status_code}", decision.wait_s)
        raise self._failure(response, decision)

    def _failure(self, response: httpx.Response, decision: Decision) -> SourceError:
        status = response.status_code
        detail = _error_detail(response)
        hint = self.setting_hint.get(status, "")
        where = f"{response.request.method} {response.request.url.copy_with(query=None)}"
        message = f"{where} -> {status} {detail}".strip() + (f". {hint}" if hint else "")
        if status in (401, 403):
            return SourceAuthError(self.source, message)
        if status == 404:
            return SourceNotFoundError(self.source, message)
        return SourceError(self.source, message or decision.reason)

    def get_json(self, url: str, **kwargs: Any) -> Any:
        """GET and decode JSON; a non-JSON body is a `MalformedPayloadError`."""
        response = self.request("GET", url, **kwargs)
        return parse_json(self.source, response)


def parse_json(source: str, response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise MalformedPayloadError(
            source, f"{response.request.url.copy_with(query=None)} returned non-JSON ({exc})"
        ) from None


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


class Paginator:
    """Strategy: given the last response, the next page's token, or None when done. Detects loops."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._seen: set[str] = set()

    def next_token(self, response: httpx.Response, body: Any) -> str | None:
        raise NotImplementedError

    def advance(self, response: httpx.Response, body: Any) -> str | None:
        token = self.next_token(response, body)
        if token is None:
            return None
        if token in self._seen:
            raise PaginationLoopError(self.source, f"page token {token[:80]!r} was returned twice; stopping")
        self._seen.add(token)
        return token


class LinkHeaderPaginator(Paginator):
    """RFC 8288 `Link: <...>; rel="next"` (GitHub). The token is the absolute next URL."""

    def next_token(self, response: httpx.Response, body: Any) -> str | None:
        link = response.links.get("next")
        return link.get("url") if link else None


class JSONPathPaginator(Paginator):
    """The next token/URL lives in the body at a key path, e.g. ("links", "next") or ("records", "cursor")."""

    def __init__(self, source: str, path: tuple[str, ...], stop_when: tuple[str, ...] | None = None) -> None:
        super().__init__(source)
        self.path = path
        self.stop_when = stop_when  # a boolean key path that ends the stream when true (Zendesk end_of_stream)

    def next_token(self, response: httpx.Response, body: Any) -> str | None:
        if self.stop_when is not None and _dig(body, self.stop_when) is True:
            return None
        value = _dig(body, self.path)
        return str(value) if value not in (None, "") else None


def _dig(body: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def paginate(
    pages: Callable[[str | None], tuple[httpx.Response, Any]], paginator: Paginator, max_pages: int = 10_000
) -> Iterator[tuple[httpx.Response, Any]]:
    """Drive `pages(token)` until the paginator says done. `max_pages` is a last guard against bad APIs."""
    token: str | None = None
    for _ in range(max_pages):
        response, body = pages(token)
        yield response, body
        token = paginator.advance(response, body)
        if token is None:
            return
    raise PaginationLoopError(paginator.source, f"more than {max_pages} pages; stopping")
