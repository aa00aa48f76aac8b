"""Error handling as data: ONE table from a status code or an exception class to what happens next.

In the style of airbyte-python-cdk's `DEFAULT_ERROR_MAPPING`: each entry is an action (retry, fail,
rate-limited, ignore, not-modified), the failure type and the hint a person sees. A connector whose source
speaks a dialect (GitHub's 403 rate limit, Discord's JSON `retry_after`, Gong's 404 "no calls found") overrides
single entries with a function of the response; everything else stays the common table. A table is a pure
callable on a response or an exception, so the retry policy can use it without the HTTP client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime
from enum import StrEnum

import httpx

from connectors.http.errors import FailureType


class ResponseAction(StrEnum):
    SUCCESS = "success"
    NOT_MODIFIED = "not_modified"  # an ETag hit: nothing new, nothing to read
    IGNORE = "ignore"  # an error status that means "empty" for this source: treated as an empty answer
    RETRY = "retry"
    RATE_LIMITED = "rate_limited"
    FAIL = "fail"


Action = ResponseAction
DONE = frozenset({ResponseAction.SUCCESS, ResponseAction.NOT_MODIFIED, ResponseAction.IGNORE})
AGAIN = frozenset({ResponseAction.RETRY, ResponseAction.RATE_LIMITED})


@dataclass(frozen=True)
class Decision:
    """What to do with one outcome. `wait_s` is honoured for RETRY/RATE_LIMITED when set."""

    action: ResponseAction
    wait_s: float | None = None
    reason: str = ""
    failure_type: FailureType | None = None
    hint: str = ""

    @property
    def retryable(self) -> bool:
        return self.action in AGAIN


Outcome = httpx.Response | BaseException
Dialect = Callable[[httpx.Response], Decision | None]  # None: fall back to the table's entry
Entry = Decision | Dialect
Key = int | type[BaseException]

_RETRY = Decision(ResponseAction.RETRY, failure_type=FailureType.TRANSIENT, hint="the source is having trouble")
_AUTH = Decision(ResponseAction.FAIL, failure_type=FailureType.AUTH)
_BAD_URL = Decision(
    ResponseAction.FAIL,
    reason="the base URL is not an http(s) URL",
    failure_type=FailureType.CONFIG,
    hint="write the base URL setting with its scheme, e.g. https://api.example.com",
)

DEFAULT_ERROR_MAPPING: Mapping[Key, Entry] = {
    304: Decision(ResponseAction.NOT_MODIFIED),
    400: Decision(ResponseAction.FAIL, reason="bad request", hint="a setting produced a request the source rejects"),
    401: _AUTH,
    403: _AUTH,
    404: Decision(ResponseAction.FAIL, failure_type=FailureType.NOT_FOUND),
    429: Decision(ResponseAction.RATE_LIMITED, reason="rate limited", failure_type=FailureType.TRANSIENT),
    **dict.fromkeys((500, 502, 503, 504, 520, 522, 524, 529), _RETRY),
    httpx.UnsupportedProtocol: _BAD_URL,  # "acme.example.com" without https://: a setting, not a network hiccup
    httpx.InvalidURL: _BAD_URL,
    httpx.TimeoutException: replace(_RETRY, reason="timeout"),
    httpx.TransportError: replace(_RETRY, reason="transport error"),
}


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


class DecisionTable:
    """`table(response_or_exception) -> Decision`: exact status, then the status class, then the exception MRO."""

    def __init__(self, mapping: Mapping[Key, Entry] = DEFAULT_ERROR_MAPPING) -> None:
        self.mapping: dict[Key, Entry] = dict(mapping)

    def override(self, entries: Mapping[Key, Entry]) -> DecisionTable:
        """A copy with some entries replaced: how a connector states its source's dialect."""
        return DecisionTable({**self.mapping, **entries})

    def __call__(self, outcome: Outcome) -> Decision:
        if isinstance(outcome, BaseException):
            return self.for_exception(outcome)
        return self.for_response(outcome)

    def for_response(self, response: httpx.Response) -> Decision:
        status = response.status_code
        entry = self.mapping.get(status)
        decision = entry(response) if callable(entry) else entry
        if decision is None:  # no entry, or a dialect that does not apply to this response
            common = DEFAULT_ERROR_MAPPING.get(status)
            decision = common if isinstance(common, Decision) else _by_class(status)
        if decision.action in AGAIN and decision.wait_s is None:
            decision = replace(decision, wait_s=retry_after_seconds(response.headers))
        if decision.action is ResponseAction.FAIL and not decision.reason:
            decision = replace(decision, reason=f"HTTP {status}")
        if decision.action in AGAIN and not decision.reason:
            decision = replace(decision, reason=f"server error {status}")
        return decision

    def for_exception(self, exc: BaseException) -> Decision:
        for cls in type(exc).__mro__:
            entry = self.mapping.get(cls)
            if isinstance(entry, Decision):
                return replace(entry, reason=f"{entry.reason}: {exc.__class__.__name__}")
        return Decision(ResponseAction.FAIL, reason=f"{exc.__class__.__name__}: {exc}")


def _by_class(status: int) -> Decision:
    if 200 <= status < 300:
        return Decision(ResponseAction.SUCCESS)
    return Decision(ResponseAction.FAIL)  # an unlisted 5xx (501, 505...) will not heal by asking again


DEFAULT_TABLE = DecisionTable()


def default_decide(response: httpx.Response) -> Decision:
    """The common table on a response (what a dialect falls back to)."""
    return DEFAULT_TABLE.for_response(response)


__all__ = [
    "AGAIN",
    "DEFAULT_ERROR_MAPPING",
    "DEFAULT_TABLE",
    "DONE",
    "Action",
    "Decision",
    "DecisionTable",
    "Dialect",
    "ResponseAction",
    "default_decide",
    "retry_after_seconds",
]
