"""The decision table: one entry per status or exception class; dialects override single entries."""

from __future__ import annotations

import httpx
import pytest

from connectors.http import DEFAULT_TABLE, Decision, FailureType, ResponseAction, retry_after_seconds


def response(status: int, **kwargs: object) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("GET", "https://api.example.com/x"), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "action", "failure"),
    [
        (200, ResponseAction.SUCCESS, None),
        (204, ResponseAction.SUCCESS, None),
        (304, ResponseAction.NOT_MODIFIED, None),
        (401, ResponseAction.FAIL, FailureType.AUTH),
        (403, ResponseAction.FAIL, FailureType.AUTH),
        (404, ResponseAction.FAIL, FailureType.NOT_FOUND),
        (429, ResponseAction.RATE_LIMITED, FailureType.TRANSIENT),
        (503, ResponseAction.RETRY, FailureType.TRANSIENT),
        (529, ResponseAction.RETRY, FailureType.TRANSIENT),
        (501, ResponseAction.FAIL, None),  # an unlisted 5xx does not heal by asking again
        (418, ResponseAction.FAIL, None),
    ],
)
def test_statuses(status: int, action: ResponseAction, failure: FailureType | None) -> None:
    decision = DEFAULT_TABLE(response(status))
    assert (decision.action, decision.failure_type) == (action, failure)


def test_retry_after_is_read_as_seconds_or_http_date() -> None:
    assert DEFAULT_TABLE(response(429, headers={"Retry-After": "12"})).wait_s == 12.0
    assert retry_after_seconds({"retry-after": "Wed, 02 Dec 2026 00:01:00 GMT"}, now=1796169600.0) == 60.0
    assert retry_after_seconds({"retry-after": "soon"}) is None


@pytest.mark.parametrize(
    ("exc", "action", "failure"),
    [
        (httpx.ConnectTimeout("slow"), ResponseAction.RETRY, FailureType.TRANSIENT),
        (httpx.ConnectError("refused"), ResponseAction.RETRY, FailureType.TRANSIENT),
        (httpx.UnsupportedProtocol("no scheme"), ResponseAction.FAIL, FailureType.CONFIG),  # a setting, not a hiccup
        (ValueError("bug"), ResponseAction.FAIL, None),
    ],
)
def test_exceptions_by_class(exc: Exception, action: ResponseAction, failure: FailureType | None) -> None:
    decision = DEFAULT_TABLE(exc)
    assert (decision.action, decision.failure_type) == (action, failure)


def test_a_dialect_overrides_one_entry_and_falls_back_to_the_common_one() -> None:
    def empty_means_none(r: httpx.Response) -> Decision | None:
        return Decision(ResponseAction.IGNORE) if "nothing here" in r.text else None

    table = DEFAULT_TABLE.override({404: empty_means_none})

    assert table(response(404, text="nothing here")).action is ResponseAction.IGNORE
    assert table(response(404, text="no such repo")).failure_type is FailureType.NOT_FOUND
    assert DEFAULT_TABLE(response(404, text="nothing here")).action is ResponseAction.FAIL  # the original is kept
