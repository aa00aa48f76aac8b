"""GitHub connector: issues API pages, ETags, GitHub's rate-limit dialect, failures that name the setting, export."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

from connectors.github import GitHubConnector, github_decide
from connectors.http import (
    MalformedPayloadError,
    ResponseAction,
    SourceAuthError,
    SourceNotFoundError,
)
from connectors.signal import KindHint
from service.settings import Settings
from tests import REPO_ROOT

API = "https://api.github.com"
REPO = "wavelength-ai/open-voice"
DEMO = REPO_ROOT / "deploy" / "demo" / "github_issues.json"
DATE = "Tue, 17 Nov 2026 10:00:00 GMT"
DATE_EPOCH = int(datetime(2026, 11, 17, 10, 0, tzinfo=UTC).timestamp())


def issue(number: int, title: str, *, labels: tuple[str, ...] = (), thumbs: int = 0, **extra: Any) -> dict[str, Any]:
    """A REST `GET /repos/{owner}/{repo}/issues` item, trimmed to the fields GitHub always sends."""
    base = f"{API}/repos/{REPO}/issues/{number}"
    item: dict[str, Any] = {
        "url": base,
        "repository_url": f"{API}/repos/{REPO}",
        "html_url": f"https://github.com/{REPO}/issues/{number}",
        "id": 2_000_000 + number,
        "node_id": f"I_kwDO{number}",
        "number": number,
        "title": title,
        "user": {"login": "dev-someone", "id": 99, "type": "User"},
        "labels": [{"id": i, "name": name, "color": "d73a4a", "default": False} for i, name in enumerate(labels)],
        "state": "open",
        "locked": False,
        "comments": 2,
        "created_at": "2026-11-02T09:00:00Z",
        "updated_at": f"2026-11-{10 + number % 10:02d}T12:00:00Z",
        "closed_at": None,
        "author_association": "NONE",
        "body": "<!-- template -->\r\n**Describe** the request\r\n\r\nIt would help our team.",
        "reactions": {
            "url": f"{base}/reactions",
            "total_count": thumbs + 1,
            "+1": thumbs,
            "-1": 0,
            "laugh": 0,
            "hooray": 1,
            "confused": 0,
            "heart": 0,
            "rocket": 0,
            "eyes": 0,
        },
        "state_reason": None,
    }
    item.update(extra)
    return item


def make(tmp_path: Path, **overrides: Any) -> tuple[GitHubConnector, list[float]]:
    slept: list[float] = []
    values: dict[str, Any] = {
        "github_repos": [REPO],
        "github_token": "ghp_testtoken123456",
        "backlog_cache_dir": tmp_path / "cache",
    }
    values.update(overrides)
    return GitHubConnector(Settings(**values).github_config(), sleep=slept.append), slept


def first_page_url(**params: str) -> str:
    query = {"state": "all", "sort": "updated", "direction": "asc", "per_page": "100", **params}
    return str(httpx.URL(f"{API}/repos/{REPO}/issues", params=query))


def test_reads_every_link_page_drops_pull_requests_and_maps_fields(tmp_path: Path, httpx_mock: HTTPXMock) -> None:
    page2 = f"{API}/repositories/1/issues?state=all&page=2"
    httpx_mock.add_response(
        url=first_page_url(labels="feedback"),
        json=[
            issue(1, "Streaming responses are slow to start", labels=("feedback", "performance"), thumbs=7),
            issue(2, "Add Salesforce sync", pull_request={"url": f"{API}/repos/{REPO}/pulls/2"}),
        ],
        headers={"Link": f'<{page2}>; rel="next", <{page2}>; rel="last"'},
        match_headers={"Authorization": "Bearer ghp_testtoken123456"},
    )
    httpx_mock.add_response(
        url=page2, json=[issue(3, "Webhook retries crash the worker", labels=("feedback", "type: bug"))]
    )
    connector, _ = make(tmp_path, github_labels=["feedback"])

    signals = list(connector.read_api(None))

    assert [s.external_id for s in signals] == [f"{REPO}#1", f"{REPO}#3"]
    first, second = signals
    assert first.source_key == f"github:{REPO}#1"
    assert first.url == f"https://github.com/{REPO}/issues/1"
    assert first.votes == 7  # 👍 only, not the 🎉
    assert first.kind_hint is KindHint.FEATURE
    assert first.text == "**Describe** the request\n\nIt would help our team."
    assert first.customer is None
    assert second.kind_hint is KindHint.BUG
    assert connector.calls == 2
    assert connector.problems == []


def test_since_is_sent_and_filters_client_side(tmp_path: Path, httpx_mock: HTTPXMock) -> None:
    since = datetime(2026, 11, 13, tzinfo=UTC)
    httpx_mock.add_response(
        url=first_page_url(since="2026-11-13T00:00:00Z"),
        json=[issue(2, "Old but returned anyway"), issue(5, "Spanish voices please")],  # updated 12th / 15th
    )
    connector, _ = make(tmp_path)

    assert [s.external_id for s in connector.read_api(since)] == [f"{REPO}#5"]


def test_single_page_etag_is_cached_and_a_304_yields_nothing(tmp_path: Path, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=first_page_url(), json=[issue(1, "SOC 2 report")], headers={"ETag": 'W/"abc"'})
    httpx_mock.add_response(url=first_page_url(), status_code=304, match_headers={"If-None-Match": 'W/"abc"'})
    first, _ = make(tmp_path)
    assert len(list(first.read_api(None))) == 1

    again, _ = make(tmp_path)  # a new run: the ETag comes from the cache file
    assert list(again.read_api(None)) == []
    assert again.calls == 1


def test_multi_page_answer_does_not_cache_the_first_page_etag(tmp_path: Path, httpx_mock: HTTPXMock) -> None:
    page2 = f"{API}/repositories/1/issues?page=2"
    httpx_mock.add_response(
        url=first_page_url(), json=[issue(1, "a")], headers={"ETag": '"p1"', "Link": f'<{page2}>; rel="next"'}
    )
    httpx_mock.add_response(url=page2, json=[issue(2, "b")], headers={"ETag": '"p2"'})
    connector, _ = make(tmp_path)
    list(connector.read_api(None))

    cache = json.loads((tmp_path / "cache" / "github_etags.json").read_text())
    assert cache == {}


def test_corrupt_etag_cache_costs_calls_not_data(tmp_path: Path, httpx_mock: HTTPXMock) -> None:
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "github_etags.json").write_text("{not json")
    httpx_mock.add_response(url=first_page_url(), json=[issue(1, "Custom wake word")], headers={"ETag": '"x"'})
    connector, _ = make(tmp_path)

    assert len(list(connector.read_api(None))) == 1
    assert json.loads((tmp_path / "cache" / "github_etags.json").read_text())


def test_primary_rate_limit_waits_until_reset_measured_by_the_response_date(
    tmp_path: Path, httpx_mock: HTTPXMock
) -> None:
    httpx_mock.add_response(
        url=first_page_url(),
        status_code=403,
        json={"message": "API rate limit exceeded for user ID 1."},
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(DATE_EPOCH + 42), "Date": DATE},
    )
    httpx_mock.add_response(url=first_page_url(), json=[issue(1, "Okta SSO")])
    connector, slept = make(tmp_path)

    assert len(list(connector.read_api(None))) == 1
    assert slept == [42.0]


def test_secondary_rate_limit_honours_retry_after(tmp_path: Path, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=first_page_url(),
        status_code=429,
        json={"message": "You have exceeded a secondary rate limit."},
        headers={"retry-after": "7"},
    )
    httpx_mock.add_response(url=first_page_url(), json=[])
    connector, slept = make(tmp_path)

    assert list(connector.read_api(None)) == []
    assert slept == [7.0]


def test_github_decide_separates_permission_403_from_rate_limits() -> None:
    request = httpx.Request("GET", f"{API}/repos/{REPO}/issues")
    forbidden = httpx.Response(403, json={"message": "Resource not accessible by integration"}, request=request)
    secondary = httpx.Response(403, json={"message": "You have exceeded a secondary rate limit"}, request=request)

    assert github_decide(forbidden).action is ResponseAction.FAIL
    assert github_decide(secondary).action is ResponseAction.RATE_LIMITED
    assert github_decide(secondary).wait_s == 60.0


def test_server_error_is_retried_then_succeeds(tmp_path: Path, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=first_page_url(), status_code=502)
    httpx_mock.add_response(url=first_page_url(), json=[issue(1, "HIPAA BAA")])
    connector, slept = make(tmp_path)

    assert len(list(connector.read_api(None))) == 1
    assert len(slept) == 1
    assert connector.calls == 2


def test_401_names_github_token_and_leaks_no_secret(tmp_path: Path, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=first_page_url(), status_code=401, json={"message": "Bad credentials"})
    connector, _ = make(tmp_path, github_repos=[REPO, "wavelength-ai/never-read"])

    with pytest.raises(SourceAuthError, match="GITHUB_TOKEN") as caught:
        list(connector.read_api(None))
    assert "ghp_testtoken123456" not in str(caught.value)


def test_404_names_the_repo_and_the_other_repos_are_still_read(tmp_path: Path, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url=str(httpx.URL(f"{API}/repos/acme/privat/issues", params=dict(httpx.URL(first_page_url()).params))),
        status_code=404,
        json={"message": "Not Found"},
    )
    httpx_mock.add_response(url=first_page_url(), json=[issue(1, "Dark mode in console")])
    connector, _ = make(tmp_path, github_repos=["acme/privat", REPO, "not-a-repo"])

    got: list[str] = []
    with pytest.raises(SourceNotFoundError) as caught:
        got.extend(s.external_id for s in connector.read_api(None))
    assert got == [f"{REPO}#1"]
    message = str(caught.value)
    assert "acme/privat" in message
    assert "GITHUB_REPOS" in message
    assert "private repo" in message
    assert [(p.where, "not owner/name" in p.message) for p in connector.problems] == [("GITHUB_REPOS", True)]


def test_enterprise_base_url_keeps_its_path(tmp_path: Path, httpx_mock: HTTPXMock) -> None:
    ghe = "https://ghe.example.com/api/v3"
    httpx_mock.add_response(url=first_page_url().replace(API, ghe), json=[issue(1, "Call recording export")])
    connector, _ = make(tmp_path, github_api_url=ghe + "/")

    assert len(list(connector.read_api(None))) == 1


def test_malformed_payload_and_malformed_item(tmp_path: Path, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=first_page_url(), json={"message": "this is not a list"})
    connector, _ = make(tmp_path)
    with pytest.raises(MalformedPayloadError, match="expected a JSON array"):
        list(connector.read_api(None))

    httpx_mock.add_response(
        url=first_page_url(), json=[issue(1, "ok"), issue(2, "bad date", updated_at="yesterday"), "junk"]
    )
    connector, _ = make(tmp_path)
    assert [s.external_id for s in connector.read_api(None)] == [f"{REPO}#1"]
    assert [p.where for p in connector.problems] == [
        f"https://github.com/{REPO}/issues/2",
        f"{REPO} issues page 1 item 2",
    ]
    assert "unparseable date 'yesterday'" in connector.problems[0].message


def gh_item(number: int, **extra: Any) -> dict[str, Any]:
    """One element of `gh issue list --json number,title,body,labels,createdAt,updatedAt,url,...` output."""
    item: dict[str, Any] = {
        "author": {"id": "MDQ6", "is_bot": False, "login": "dev-someone", "name": "Dev Someone"},
        "body": "We lost a deal to Vapi because of latency.",
        "createdAt": "2026-11-04T08:00:00Z",
        "labels": [{"id": "LA_1", "name": "enhancement", "description": "", "color": "a2eeef"}],
        "number": number,
        "reactionGroups": [
            {"content": "THUMBS_UP", "users": {"totalCount": 5}},
            {"content": "HEART", "users": {"totalCount": 2}},
        ],
        "state": "OPEN",
        "title": "Cut first-response latency",
        "updatedAt": "2026-11-05T08:00:00Z",
        "url": f"https://github.com/{REPO}/issues/{number}",
    }
    item.update(extra)
    return item


def test_export_file_parses_and_reports_the_malformed_item_with_file_and_index(tmp_path: Path) -> None:
    export = tmp_path / "issues.json"
    items = [
        gh_item(10),
        gh_item(11, url="https://ghe.example.com/other/sdk/issues/11", reactionGroups=[]),
        gh_item(12, createdAt="not a date"),
        gh_item(13, url=f"https://github.com/{REPO}/pull/13"),
    ]
    export.write_text(json.dumps(items))
    connector, _ = make(tmp_path, github_export_path=export, github_repos=[])

    signals = list(connector.read_export(None))

    assert [s.source_key for s in signals] == [f"github:{REPO}#10", "github:other/sdk#11"]
    assert signals[0].votes == 5
    assert signals[1].votes == 0
    assert signals[0].tags == ("competitive-loss",)
    assert [p.where for p in connector.problems] == [f"{export}:1 item 3"]  # one line: the item is named too
    assert "createdAt" in connector.problems[0].message


def test_export_that_is_not_an_array_is_a_malformed_payload(tmp_path: Path) -> None:
    export = tmp_path / "issues.json"
    export.write_text(json.dumps({"issues": []}))
    connector, _ = make(tmp_path, github_export_path=export)

    with pytest.raises(MalformedPayloadError, match=r"issues\.json: expected a JSON array"):
        list(connector.read_export(None))


def test_demo_export_is_clean_and_spread_over_the_cycle(tmp_path: Path) -> None:
    connector, _ = make(tmp_path, github_export_path=DEMO)

    signals = list(connector.read_export(None))

    assert 8 <= len(signals) <= 16
    assert connector.problems == []
    assert len({s.external_id for s in signals}) == len(signals)
    window = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC))
    assert all(window[0] <= s.created_at <= s.updated_at < window[1] for s in signals)
    assert {KindHint.BUG, KindHint.FEATURE, KindHint.TECH_DEBT} <= {s.kind_hint for s in signals}
    assert any("competitive-loss" in s.tags for s in signals)
