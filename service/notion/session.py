"""The one call loop to Notion: rate limit, retry policy, call counting, cursor pagination.

Retry policy (the only one: `notion_client` runs with `retry=False`, and the waits are the HTTP toolkit's
`connectors.http.RetryPolicy`, the same one every connector uses): 429/529 wait `Retry-After` (and pause the
shared limiter so every thread waits); 5xx, 409 and timeouts back off exponentially with jitter up to
`NOTION_MAX_RETRIES`; any other 4xx fails at once. A write that may have landed (timeout or 5xx) is looked up
with `recover` before it is sent again, so a retry never makes a duplicate.

The policy sits behind `RetryPolicy.run` (one method), so it can be swapped for another implementation without
touching the session.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from connectors.http.decide import Decision, ResponseAction
from connectors.http.ratelimit import FileRateLimiter, RateLimiter
from connectors.http.retry import RetryExhaustedError
from connectors.http.retry import RetryPolicy as ToolkitRetryPolicy
from service.logging import get_logger
from service.notion.calls import CallCounter
from service.notion.errors import CALL_ERRORS, NotionError, NotionUnavailableError, RetryableError, classify
from service.settings import Settings

log = get_logger(__name__)

T = TypeVar("T")
JSON = dict[str, Any]
PAGE_SIZE = 100  # Notion's maximum page_size
MAX_WAIT_S = 300.0
SANDBOX_RATE_LIMIT = 500.0  # requests/s against the in-process sandbox: effectively unlimited
SLOW_FOR_S = 60.0  # after a 429 the shared bucket's burst is halved this long
_shared_limiters: dict[tuple[float, int, str], RateLimiter] = {}
_shared_lock = threading.Lock()


def shared_rate_limiter(rate: float, burst: int = 1, path: Path | None = None) -> RateLimiter:
    """The process-wide limiter for (`rate`, `burst`, `path`): every gateway of the process draws from one
    bucket; with a `path` that bucket is the host-wide file every process shares."""
    key = (rate, burst, str(path or ""))
    with _shared_lock:
        if key not in _shared_limiters:
            limiter = RateLimiter(rate, burst) if path is None else FileRateLimiter(path, rate, burst)
            _shared_limiters[key] = limiter
        return _shared_limiters[key]


def budget(settings: Settings) -> tuple[float, int]:
    """(steady rate per second, burst) for Notion's per-connection window budget.

    NOTION_REQUESTS_PER_MINUTE = B per 60 s window, spendable in a burst: a bucket of `B // 12` tokens refilled
    at `(B - burst) / 60` per second never sends more than B in any 60 s, and still bursts a few seconds' worth.
    NOTION_RATE_LIMIT (the older setting, requests per second) wins when set: that steady rate, no burst."""
    if settings.notion_rate_limit is not None:
        return settings.notion_rate_limit, 1
    per_minute = settings.notion_requests_per_minute
    burst = max(1, per_minute // 12)
    return max(per_minute - burst, 1) / 60.0, burst


def bucket_path(settings: Settings) -> Path:
    """The host-wide bucket file of this connection: one per token (hashed, never the token itself)."""
    token = settings.notion_token.get_secret_value() if settings.notion_token else "sandbox"
    digest = hashlib.sha256(f"{settings.notion_api_url}\n{token}".encode()).hexdigest()[:16]
    return settings.backlog_cache_dir / f"notion-ratelimit-{digest}.json"


def limiter_for(settings: Settings, sleep: Callable[[float], None]) -> RateLimiter:
    """The real clock shares one file-locked bucket per connection with every process on the host; an injected
    sleep (tests) gets its own in-process bucket. The local sandbox has no rate limit of its own unless asked
    (`backlog sandbox --rate-limit`), so the client-side limit applies to it only when NOTION_RATE_LIMIT or
    NOTION_REQUESTS_PER_MINUTE is set explicitly."""
    explicit = {"notion_rate_limit", "notion_requests_per_minute"} & settings.model_fields_set
    if settings.uses_sandbox and not explicit:
        return shared_rate_limiter(SANDBOX_RATE_LIMIT) if sleep is time.sleep else RateLimiter(SANDBOX_RATE_LIMIT)
    rate, burst = budget(settings)
    if sleep is not time.sleep:
        return RateLimiter(rate, burst, sleep=sleep)
    return shared_rate_limiter(rate, burst, bucket_path(settings))


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`items` in requests of at most `size` (Notion's per-request limits)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class RetryPolicy(Protocol):
    """Runs one logical request: `attempt` raises `RetryableError` when another try is worth it."""

    def run(
        self, attempt: Callable[[], T], *, endpoint: str, what: str, recover: Callable[[], T | None] | None = None
    ) -> T: ...


@dataclass
class BackoffPolicy:
    """The HTTP toolkit's one retry policy (`connectors.http.RetryPolicy`: Retry-After capped at 300 s, else
    exponential back-off with jitter 0.5, 1, 2 ... 30 s) applied to Notion calls.

    The session's attempts raise `RetryableError`, which carries whether the attempt may have been applied
    (`uncertain`: a timeout or a 5xx; a 429 was refused before any work). Only after such an attempt is
    `recover` asked to look for the write's effect before it is sent again."""

    max_retries: int
    sleep: Callable[[float], None] = time.sleep
    max_wait_s: float = MAX_WAIT_S

    def run(
        self, attempt: Callable[[], T], *, endpoint: str, what: str, recover: Callable[[], T | None] | None = None
    ) -> T:
        """Run `attempt` under the toolkit's policy; `recover` answers instead of a re-send when it finds the write."""
        uncertain = False

        def once() -> T:
            nonlocal uncertain
            if uncertain and recover is not None:
                found = recover()
                if found is not None:
                    log.info("notion.recovered_write", endpoint=endpoint, what=what)
                    return found
            try:
                return attempt()
            except RetryableError as exc:
                uncertain = uncertain or exc.uncertain
                raise

        def on_retry(decision: Decision, outcome: object, wait: float) -> None:
            status = outcome.status if isinstance(outcome, RetryableError) else None
            log.warning(
                "notion.retry",
                endpoint=endpoint,
                what=what,
                status=status,
                reason=decision.reason,
                wait_s=round(wait, 3),
            )

        policy = ToolkitRetryPolicy(max_retries=self.max_retries, max_wait_s=self.max_wait_s, sleep=self.sleep)
        try:
            return policy.call(once, _decide, on_retry=on_retry)
        except RetryExhaustedError as exhausted:
            status = exhausted.outcome.status if isinstance(exhausted.outcome, RetryableError) else None
            raise NotionUnavailableError(
                f"{what or endpoint}: Notion still failing after {exhausted.attempts} attempts "
                f"({exhausted.decision.reason}); try again later or raise NOTION_MAX_RETRIES",
                status=status,
            ) from None


def _decide(outcome: object) -> Decision:
    """A Notion attempt's outcome as the toolkit's decision: a `RetryableError` is tried again (429/529 as
    rate-limited with Notion's Retry-After), any other exception fails at once, an answer is done."""
    if isinstance(outcome, RetryableError):
        action = ResponseAction.RATE_LIMITED if outcome.rate_limited else ResponseAction.RETRY
        return Decision(action, wait_s=outcome.wait_s, reason=str(outcome))
    if isinstance(outcome, BaseException):
        return Decision(ResponseAction.FAIL, reason=str(outcome))
    return Decision(ResponseAction.SUCCESS)


class NotionSession:
    """Every request of a gateway: one limiter token and one count per attempt, one retry policy per call."""

    def __init__(self, limiter: RateLimiter, policy: RetryPolicy, *, sandbox: bool) -> None:
        self.calls = CallCounter()
        self.limiter = limiter
        self.policy = policy
        self.sandbox = sandbox

    def call(
        self,
        endpoint: str,
        send: Callable[[], Any],
        *,
        write: bool,
        what: str,
        recover: Callable[[], JSON | None] | None = None,
    ) -> JSON:
        """Send one logical request (`send` makes one attempt) and return Notion's JSON answer."""
        attempt = functools.partial(self._attempt, endpoint, send, write=write, what=what or endpoint)
        result: JSON = self.policy.run(attempt, endpoint=endpoint, what=what, recover=recover)
        return result

    def _attempt(self, endpoint: str, send: Callable[[], Any], *, write: bool, what: str) -> JSON:
        self.limiter.acquire()
        self.calls.add(endpoint, write=write)
        try:
            answer: JSON = send()
        except CALL_ERRORS as exc:
            failure = classify(exc, what, sandbox=self.sandbox)
            if isinstance(failure, RetryableError):
                if failure.rate_limited:
                    self._slow_down(failure, endpoint, what)
                raise failure from exc
            raise failure from None
        return answer

    def _slow_down(self, failure: RetryableError, endpoint: str, what: str) -> None:
        """A 429/529: say which limit hit, pause every process sharing the bucket for Retry-After, then halve the
        burst for a while (the next window starts without a rush that would hit the limit again)."""
        wait_s = failure.wait_s or 0.0
        log.warning(
            "notion.rate_limited",
            endpoint=endpoint,
            what=what,
            status=failure.status,
            limit=failure.limit,
            rate_limit_reason=failure.limit_reason,
            wait_s=round(wait_s, 3),
        )
        self.limiter.pause(wait_s, slow_for=SLOW_FOR_S)

    def pages(self, endpoint: str, method: Callable[..., Any], kwargs: JSON, *, what: str) -> Iterator[JSON]:
        """Every answer of a cursor-paginated endpoint (`start_cursor` added after the first); stops with an
        error if Notion repeats a cursor."""
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            send = functools.partial(method, **kwargs, **({"start_cursor": cursor} if cursor else {}))
            body = self.call(endpoint, send, write=False, what=what)
            yield body
            cursor = body.get("next_cursor")
            if not body.get("has_more") or not cursor:
                return
            if cursor in seen:
                raise NotionError(f"{what}: Notion returned the cursor {cursor!r} twice; stopping")
            seen.add(cursor)

    def results(self, endpoint: str, method: Callable[..., Any], kwargs: JSON, *, what: str) -> Iterator[JSON]:
        """Every result of a cursor-paginated list endpoint."""
        for body in self.pages(endpoint, method, kwargs, what=what):
            yield from body.get("results") or []


__all__ = [
    "PAGE_SIZE",
    "SANDBOX_RATE_LIMIT",
    "BackoffPolicy",
    "NotionSession",
    "RetryPolicy",
    "bucket_path",
    "budget",
    "chunks",
    "limiter_for",
    "shared_rate_limiter",
]
