"""The HTTP toolkit's edges against a real loopback peer: a total deadline per request (a trickling or hanging
server is cut off at the deadline, not per read), clear payload errors for HTML and truncated JSON that name the
URL, a 429 without Retry-After backing off exponentially within a budget, and the per-source settings."""

from __future__ import annotations

import time
from itertools import pairwise
from pathlib import Path

import httpx
import pytest

from connectors.github import GitHubConnector, github_decide
from connectors.http import MalformedPayloadError, RetryPolicy, SourceHTTP, SourceUnavailableError
from connectors.http.deadline import DeadlineExceededError, send_within
from connectors.http.decide import Decision, ResponseAction
from service.settings import Settings
from tests.connectors.http.loopback import hostile_server


def http_for(url: str, *, timeout_s: float = 0.6, max_retries: int = 0, **kwargs: object) -> SourceHTTP:
    return SourceHTTP(source="github", base_url=url, timeout_s=timeout_s, max_retries=max_retries, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["trickle", "hang"])
def test_a_trickling_or_hanging_server_is_cut_off_at_the_total_deadline(mode: str) -> None:
    with hostile_server(mode, trickle_every_s=0.1) as source:
        http = http_for(source.url, timeout_s=0.6)
        began = time.monotonic()
        with pytest.raises(SourceUnavailableError, match=r"total deadline of 0\.6s") as failed:
            http.request("GET", "/repos/acme/app/issues")
        elapsed = time.monotonic() - began
        http.close()
    assert elapsed < 1.6, f"{mode}: cut off after {elapsed:.2f}s, the deadline is 0.6s"  # slack for a busy host
    assert "BACKLOG_SOURCE_TIMEOUT_S" in str(failed.value)


def test_send_within_returns_the_whole_body_of_a_healthy_answer() -> None:
    with hostile_server("ok") as source, httpx.Client(base_url=source.url) as client:
        response = send_within(client, client.build_request("GET", "/anything"), 2.0)
    assert response.status_code == 200
    assert response.json() == []


def test_a_trickle_within_the_per_read_timeout_still_trips_the_total_deadline() -> None:
    """httpx alone (timeout per read = 5 s) would wait for ever on a byte every 0.1 s; the deadline does not."""
    with hostile_server("trickle", trickle_every_s=0.1) as source, httpx.Client(timeout=5.0) as client:
        began = time.monotonic()
        with pytest.raises(DeadlineExceededError):
            send_within(client, client.build_request("GET", f"{source.url}/x"), 0.5)
        elapsed = time.monotonic() - began
    assert elapsed < 1.5  # the per-read timeout alone would wait for as long as the trickle lasts


@pytest.mark.parametrize(
    ("mode", "said"),
    [("html", "an HTML page (text/html, HTTP 200)"), ("truncated", "truncated or invalid JSON")],
)
def test_html_or_truncated_json_is_a_payload_error_naming_the_url(mode: str, said: str) -> None:
    with hostile_server(mode) as source:
        http = http_for(source.url)
        with pytest.raises(MalformedPayloadError) as failed:
            http.get_json("/repos/acme/app/issues", params={"page": 2})
        http.close()
    message = str(failed.value)
    assert f"GET {source.url}/repos/acme/app/issues returned" in message
    assert said in message
    assert "page=2" not in message  # the query (where tokens may hide) is never shown


def test_a_429_without_retry_after_backs_off_exponentially_within_the_budget() -> None:
    sleeps: list[float] = []
    with hostile_server("429") as source:
        http = http_for(source.url, max_retries=8, decide=github_decide, sleep=sleeps.append, backoff_budget_s=10.0)
        with pytest.raises(SourceUnavailableError, match="still failing"):
            http.request("GET", "/repos/acme/app/issues")
        http.close()
    assert sleeps, "the 429 was not retried"
    assert max(sleeps) < 60  # not GitHub's "one minute" per retry
    assert sum(sleeps) <= 10.0 + 1e-9
    assert all(later >= earlier / 2 for earlier, later in pairwise(sleeps))  # growing


def test_github_bare_429_names_no_wait_but_a_retry_after_is_honoured() -> None:
    request = httpx.Request("GET", "https://api.github.com/repos/a/b/issues")
    assert github_decide(httpx.Response(429, request=request)).wait_s is None
    assert github_decide(httpx.Response(429, headers={"retry-after": "7"}, request=request)).wait_s == 7.0


def test_the_backoff_budget_caps_only_the_policys_own_waits() -> None:
    policy = RetryPolicy(backoff_budget_s=3.0, jitter=lambda: 1.0)
    chosen = Decision(ResponseAction.RATE_LIMITED)
    told = Decision(ResponseAction.RATE_LIMITED, wait_s=20.0)
    assert [policy.wait_for(chosen, n, spent) for n, spent in ((1, 0.0), (2, 0.5), (3, 1.5), (4, 3.0))] == [
        0.5,
        1.0,
        1.5,
        0.0,
    ]
    assert policy.budget_spent(chosen, 3.0)
    assert policy.wait_for(told, 4, 3.0) == 20.0  # the server's own Retry-After is honoured
    assert not policy.budget_spent(told, 3.0)


def test_source_timeout_and_retries_are_settings_read_into_every_slice(tmp_path: Path) -> None:
    settings = Settings(
        backlog_source_timeout_s=2.5,
        backlog_source_max_retries=1,
        github_repos=["acme/app"],
        backlog_cache_dir=tmp_path,
    )
    for name in ("zendesk", "g2", "gong", "github", "discord"):
        config = settings.source_config(name)
        assert (config.timeout_s, config.max_retries) == (2.5, 1), name
    http = GitHubConnector(settings.github_config()).http()
    assert (http.timeout_s, http.max_retries) == (2.5, 1)
    defaults = Settings().github_config()
    assert (defaults.timeout_s, defaults.max_retries) == (30.0, 5)  # today's defaults
