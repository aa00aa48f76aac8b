"""The one call loop (rate limit, retry, counting), through the gateway, against the sandbox with faults."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeVar

import pytest
from pydantic import SecretStr

from connectors.http import RateLimiter
from service.notion.errors import RetryableError
from service.notion.gateway import (
    NotionAuthError,
    NotionGateway,
    NotionNotFoundError,
    NotionUnavailableError,
    NotionValidationError,
)
from tests.fakes.faults import FaultyNotion, overloaded, rate_limited, refused, server_error, timeout
from tests.service.notion.support import add_row, full_database, make_gateway, settings

T = TypeVar("T")


def test_429_waits_retry_after_then_succeeds(notion: FaultyNotion, sleeps: list[float]) -> None:
    notion.transport.fail("GET", "users/me", rate_limited(7))
    gateway = make_gateway(notion, sleeps)
    assert gateway.bot_user_id() == notion.sandbox.bot_user_id
    assert sleeps == [7.0]
    assert gateway.calls.by_endpoint() == {"users.me": 2}
    assert gateway.bot_user_id() == notion.sandbox.bot_user_id  # cached: no third call
    assert gateway.calls.total == 2


def test_429_pauses_the_shared_limiter(notion: FaultyNotion, sleeps: list[float]) -> None:
    notion.transport.fail("GET", "users/me", rate_limited(3))
    paused: list[float] = []
    acquired: list[int] = []

    class SpyLimiter(RateLimiter):
        def acquire(self) -> float:
            acquired.append(1)
            return 0.0

        def pause(self, seconds: float) -> None:
            paused.append(seconds)

    gateway = NotionGateway.from_settings(
        settings(), transport=notion.transport, sleep=sleeps.append, limiter=SpyLimiter(1.0)
    )
    gateway.bot_user_id()
    assert paused == [3.0]
    assert len(acquired) == gateway.calls.total == 2  # every attempt takes a token


def test_529_html_body_is_retried(notion: FaultyNotion, sleeps: list[float]) -> None:
    notion.transport.fail("GET", "users/me", overloaded())
    gateway = make_gateway(notion, sleeps)
    assert gateway.bot_user_id() == notion.sandbox.bot_user_id
    assert len(sleeps) == 1
    assert gateway.calls.by_endpoint() == {"users.me": 2}


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_then_success_backs_off_with_jitter(notion: FaultyNotion, sleeps: list[float], status: int) -> None:
    notion.transport.fail("GET", "users/me", server_error(status), times=2)
    gateway = make_gateway(notion, sleeps)
    assert gateway.bot_user_id() == notion.sandbox.bot_user_id
    assert 0.25 <= sleeps[0] <= 0.5  # 0.5 s base, half of it jitter
    assert 0.5 <= sleeps[1] <= 1.0
    assert gateway.calls.total == 3


def test_timeout_then_success(notion: FaultyNotion, sleeps: list[float]) -> None:
    notion.transport.fail("GET", "users/me", timeout())
    gateway = make_gateway(notion, sleeps)
    assert gateway.bot_user_id() == notion.sandbox.bot_user_id
    assert gateway.calls.by_endpoint() == {"users.me": 2}


def test_retries_exhausted_raise_unavailable(notion: FaultyNotion, sleeps: list[float]) -> None:
    notion.transport.fail("GET", "users/me", server_error(503), times=4)
    gateway = make_gateway(notion, sleeps, notion_max_retries=3)
    with pytest.raises(NotionUnavailableError, match=r"4 attempts.*NOTION_MAX_RETRIES"):
        gateway.bot_user_id()
    assert len(sleeps) == 3
    assert gateway.calls.total == 4


def test_401_names_notion_token_and_never_shows_it(notion: FaultyNotion, sleeps: list[float]) -> None:
    other = "ntn_OTHERTESTTOKEN0123456789"  # the sandbox accepts only TOKEN
    gateway = make_gateway(notion, sleeps, notion_token=SecretStr(other))
    with pytest.raises(NotionAuthError) as caught:
        gateway.bot_user_id()
    assert "NOTION_TOKEN is invalid or revoked" in str(caught.value)
    assert "API token is invalid." in str(caught.value)
    assert other not in str(caught.value)
    assert sleeps == []  # 4xx: no retry


def test_400_fails_at_once_naming_the_page(notion: FaultyNotion, sleeps: list[float]) -> None:
    database_id, data_source_id = full_database(notion)
    page_id = add_row(notion, data_source_id, "zendesk:1")
    message = "body failed validation: body.properties.RICE.number"
    notion.transport.fail("PATCH", r"pages/.*", refused(400, "validation_error", message))
    gateway = make_gateway(notion, sleeps, notion_database_id=database_id)
    with pytest.raises(NotionValidationError) as caught:
        gateway.update_properties(page_id, {"RICE": 12.5}, what=f"scoring page {page_id} (zendesk:1)")
    message = str(caught.value)
    assert f"scoring page {page_id} (zendesk:1)" in message
    assert "body.properties.RICE.number" in message
    assert gateway.calls.by_endpoint()["pages.update"] == 1
    assert sleeps == []


def test_404_says_to_share_with_the_integration(notion: FaultyNotion, sleeps: list[float]) -> None:
    database_id, _ = full_database(notion)
    gateway = make_gateway(notion, sleeps, notion_database_id=database_id)
    with pytest.raises(NotionNotFoundError, match="Connections"):
        gateway.get_row(str(uuid.uuid4()))


def test_the_retry_policy_is_one_swappable_method(notion: FaultyNotion, sleeps: list[float]) -> None:
    """Another policy (e.g. the HTTP toolkit's) plugs in through `run`; the session still counts every attempt."""
    asked: list[tuple[str, str]] = []

    class TryTwice:
        def run(
            self, attempt: Callable[[], T], *, endpoint: str, what: str, recover: Callable[[], T | None] | None = None
        ) -> T:
            asked.append((endpoint, what))
            try:
                return attempt()
            except RetryableError:
                return attempt()

    gateway = make_gateway(notion, sleeps)
    gateway.session.policy = TryTwice()
    notion.transport.fail("GET", "users/me", server_error(502))
    assert gateway.bot_user_id() == notion.sandbox.bot_user_id
    assert asked == [("users.me", "reading the integration's user")]
    assert gateway.calls.total == 2
    assert sleeps == []


def test_the_waits_are_the_http_toolkits_retry_policy(
    notion: FaultyNotion, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One retry policy in the codebase: the Notion session's back-off is connectors.http's RetryPolicy."""
    from connectors.http.retry import RetryPolicy as ToolkitRetryPolicy

    monkeypatch.setattr(ToolkitRetryPolicy, "backoff", lambda _self, attempt: 40.0 + attempt)
    notion.transport.fail("GET", "users/me", server_error(502), times=2)
    gateway = make_gateway(notion, sleeps)
    assert gateway.bot_user_id() == notion.sandbox.bot_user_id
    assert sleeps == [41.0, 42.0]
