"""Trustpilot connector: business-unit reviews by `next-page` link (newest first, stopping at the window), stars as
the rating, the apikey header, and the Trustpilot Business CSV."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from connectors.http import SourceAuthError
from connectors.trustpilot import TrustpilotConnector
from service.pipelines.doctor import source_checks
from service.pipelines.sources import build_connector
from service.settings import Settings
from tests import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "sources" / "trustpilot"
DEMO = REPO_ROOT / "deploy" / "demo" / "trustpilot_reviews.csv"
BU = "5f4c2a9b8e1d3a0012ab34cd"
KEY = "tp-secret-api-key"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def make(**settings: Any) -> TrustpilotConnector:
    values: dict[str, Any] = {"trustpilot_api_key": KEY, "trustpilot_business_unit_id": BU, **settings}
    connector = build_connector(Settings(**values), "trustpilot", sleep=lambda _s: None)
    assert isinstance(connector, TrustpilotConnector)
    return connector


def test_pages_follow_the_next_page_link(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=fixture("reviews_page1.json"))
    httpx_mock.add_response(json=fixture("reviews_page2.json"))
    httpx_mock.add_response(json={"links": [], "reviews": []})

    signals = list(make().read_api(None))

    assert len(signals) == 4
    first, second, third = httpx_mock.get_requests()
    assert first.url.path == f"/v1/business-units/{BU}/reviews"
    assert (first.url.params["perPage"], first.url.params["orderBy"]) == ("100", "createdat.desc")
    assert first.headers["apikey"] == KEY
    assert second.url.params["page"] == "2"
    assert third.url.params["page"] == "3"
    spanish = signals[1]
    assert spanish.rating == 4.0
    assert spanish.url == "https://www.trustpilot.com/reviews/6728f1a2b4c5d60012e3f404"
    assert spanish.text == "Good, but Spanish needs work\n\nThe Spanish voice still mispronounces names."
    assert spanish.customer is None
    assert spanish.votes == 2


def test_a_resumed_read_stops_at_the_page_that_reaches_before_the_window(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=fixture("reviews_page1.json"))  # 15 Nov, then 12 Nov

    since = datetime(2026, 11, 13, tzinfo=UTC)
    signals = list(make().read_api(since))

    assert [s.title for s in signals] == ["Billing portal confusing"]  # 12 Nov is before the window
    assert len(httpx_mock.get_requests()) == 1  # page 2 holds only older reviews: not asked for
    assert httpx_mock.get_requests()[0].url.params["startDateTime"] == "2026-11-13T00:00:00Z"


def test_bad_key_names_the_setting(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=401, json={"message": "Unauthorized", "errorCode": 401})
    with pytest.raises(SourceAuthError, match="TRUSTPILOT_API_KEY") as caught:
        list(make().read_api(None))
    assert KEY not in str(caught.value)


def test_business_csv_export() -> None:
    connector = make(trustpilot_api_key=None, trustpilot_export_path=DEMO)

    signals = list(connector.read(None))

    assert len(signals) == 5
    assert signals[0].title == "Sounds human, answers slowly"
    assert signals[0].rating == 3.0
    assert signals[0].created_at == datetime(2026, 11, 5, 18, 22, 9, tzinfo=UTC)
    assert connector.problems == []


def test_stars_out_of_range_are_reported_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "reviews.csv"
    path.write_text(
        "Review ID,Review Created (UTC),Review Title,Review Content,Review Stars\n"
        "r1,2026-11-05 18:22:09,Fine,ok,7\nr2,2026-11-06 10:00:00,Good,ok,5\n",
        encoding="utf-8",
    )
    connector = make(trustpilot_api_key=None, trustpilot_export_path=path)

    assert [s.external_id for s in connector.read(None)] == ["r2"]
    (problem,) = connector.problems
    assert problem.where == f"{path}:2"
    assert "out of range" in problem.message


def test_doctor_says_the_business_unit_is_missing() -> None:
    checks = source_checks(Settings(trustpilot_api_key=KEY), "trustpilot", None)
    assert [(c.name, c.ok) for c in checks] == [("business unit", False)]
    assert "TRUSTPILOT_BUSINESS_UNIT_ID" in checks[0].fix
