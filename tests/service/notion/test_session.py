"""The one call loop (rate limit, retry, counting), through the gateway, against the sandbox with faults."""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from pydantic import SecretStr

from connectors.http import RateLimiter
from connectors.http.ratelimit import FileRateLimiter
from service.logging import configure_logging
from service.notion.errors import DEFAULT_RATE_LIMIT_WAIT_S, RetryableError
from service.notion.gateway import (
    NotionAuthError,
    NotionGateway,
    NotionNotFoundError,
    NotionUnavailableError,
    NotionValidationError,
)
from service.notion.session import SANDBOX_RATE_LIMIT, SLOW_FOR_S, budget, limiter_for
from service.settings import Settings
from tests.fakes.faults import (
    Fault,
    FaultyNotion,
    connection_refused,
    overloaded,
    rate_limited,
    refused,
    server_error,
    timeout,
)
from tests.service.notion.support import TOKEN, add_row, full_database, make_gateway, settings

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

        def pause(self, seconds: float, *, slow_for: float = 0.0) -> None:
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


def test_a_host_that_cannot_connect_is_told_what_to_check(notion: FaultyNotion, sleeps: list[float]) -> None:
    notion.transport.fail("GET", "users/me", connection_refused(), times=4)
    gateway = make_gateway(notion, sleeps, notion_max_retries=3)
    with pytest.raises(NotionUnavailableError, match=r"could not connect to Notion's API; check this host's network"):
        gateway.bot_user_id()
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


# --- Notion's two rate limits (issue 12) -----------------------------------------------------------------------


@dataclass(frozen=True)
class LimitedFault(Fault):
    """A 429 (or 529) whose body names the limit hit, the way Notion's does (`additional_data`)."""

    reason: str = "workspace_rate_limit"

    def respond(self, request: httpx.Request) -> httpx.Response:
        body = {
            "object": "error",
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "additional_data": {"rate_limit_reason": self.reason},
        }
        return httpx.Response(self.status, json=body, headers=dict(self.headers), request=request)


def limited(status: int, reason: str, retry_after: str | None = "4") -> LimitedFault:
    headers = (("Retry-After", retry_after),) if retry_after else ()
    code = "rate_limited" if status == 429 else "service_overload"
    return LimitedFault(status, code, "Slow down.", headers=headers, reason=reason)


class PausedLimiter(RateLimiter):
    """Records pauses instead of waiting."""

    def __init__(self) -> None:
        super().__init__(1000.0, burst=1000, sleep=lambda _s: None)
        self.paused: list[tuple[float, float]] = []

    def pause(self, seconds: float, *, slow_for: float = 0.0) -> None:
        self.paused.append((seconds, slow_for))


def rate_limit_logs(out: io.StringIO) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    return [line for line in lines if line.get("event") == "notion.rate_limited"]


@pytest.mark.parametrize(
    ("status", "reason", "limit"),
    [
        (429, "workspace_rate_limit", "workspace"),
        (429, "connection_rate_limit", "connection"),
        (429, "public_api_request_rate_limit", "connection"),
        (529, "something_new", "overload"),
    ],
)
def test_rate_limit_pauses_everyone_slows_down_and_logs_which_limit(
    notion: FaultyNotion, sleeps: list[float], status: int, reason: str, limit: str
) -> None:
    notion.transport.fail("GET", "users/me", limited(status, reason))
    limiter = PausedLimiter()
    out = io.StringIO()
    configure_logging(fmt="json", stream=out)
    gateway = NotionGateway.from_settings(settings(), transport=notion.transport, sleep=sleeps.append, limiter=limiter)
    assert gateway.bot_user_id() == notion.sandbox.bot_user_id
    assert sleeps == [4.0]  # Retry-After honoured
    assert limiter.paused == [(4.0, SLOW_FOR_S)]  # the shared bucket paused, then slowed down
    logged = rate_limit_logs(out)
    assert len(logged) == 1
    assert logged[0]["limit"] == limit
    assert logged[0]["rate_limit_reason"] == reason
    assert logged[0]["status"] == status


def test_529_without_retry_after_still_pauses_the_bucket(notion: FaultyNotion, sleeps: list[float]) -> None:
    notion.transport.fail("GET", "users/me", limited(529, "", retry_after=None))
    limiter = PausedLimiter()
    gateway = NotionGateway.from_settings(settings(), transport=notion.transport, sleep=sleeps.append, limiter=limiter)
    gateway.bot_user_id()
    assert limiter.paused == [(DEFAULT_RATE_LIMIT_WAIT_S, SLOW_FOR_S)]
    assert sleeps == [DEFAULT_RATE_LIMIT_WAIT_S]


def test_a_429_through_one_gateway_pauses_another_process_bucket(notion: FaultyNotion, tmp_path: Path) -> None:
    """Two gateways (as two processes would) on one bucket file: the 429 the first one gets pauses the other."""
    clock = [1_000.0]
    waited: list[float] = []

    def bucket() -> FileRateLimiter:
        return FileRateLimiter(tmp_path / "b.json", 3.0, 15, clock=lambda: clock[0], sleep=waited.append)

    notion.transport.fail("GET", "users/me", limited(429, "connection_rate_limit", "6"))
    first = NotionGateway.from_settings(settings(), transport=notion.transport, sleep=lambda _s: None, limiter=bucket())
    other = bucket()
    first.bot_user_id()
    assert other.acquire() >= 6.0  # waits out Retry-After (and more: the bucket runs slowed down)


def test_limiter_for_real_notion_shares_a_file_bucket_per_connection(tmp_path: Path) -> None:
    real = settings(backlog_cache_dir=tmp_path)
    limiter = limiter_for(real, time.sleep)
    assert isinstance(limiter, FileRateLimiter)
    assert limiter.path.parent == tmp_path
    assert TOKEN not in limiter.path.name  # hashed, never the token
    assert limiter_for(real, time.sleep) is limiter  # one bucket object per process too
    other = limiter_for(settings(backlog_cache_dir=tmp_path, notion_token=SecretStr("ntn_OTHER")), time.sleep)
    assert isinstance(other, FileRateLimiter)
    assert other.path != limiter.path


def test_budget_never_exceeds_the_window_and_the_alias_wins() -> None:
    rate, burst = budget(settings())
    assert burst == 15
    assert burst + rate * 60 == pytest.approx(180)  # any 60 s window: at most the budget
    rate, burst = budget(settings(notion_requests_per_minute=600))
    assert burst + rate * 60 == pytest.approx(600)
    assert budget(settings(notion_requests_per_minute=600, notion_rate_limit=2.0)) == (2.0, 1)


def test_the_sandbox_stays_unlimited_unless_asked(tmp_path: Path) -> None:
    sandbox = Settings(backlog_sandbox_path=tmp_path / "s.sqlite3", backlog_cache_dir=tmp_path)
    assert limiter_for(sandbox, time.sleep).rate == SANDBOX_RATE_LIMIT
    asked = Settings(backlog_sandbox_path=tmp_path / "s.sqlite3", backlog_cache_dir=tmp_path, notion_rate_limit=7)
    assert limiter_for(asked, time.sleep).rate == 7.0
