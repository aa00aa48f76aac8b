"""PagerDuty connector: `/incidents` offset pages while `more`, service filter, the Token header, Reliability rows,
and both exports (the JSON of /incidents pages, the incidents CSV)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from connectors.http import MalformedPayloadError, SourceAuthError
from connectors.pagerduty import PagerDutyConnector, duration_text
from connectors.signal import KindHint
from service.pipelines.sources import build_connector
from service.settings import Settings
from tests import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "sources" / "pagerduty"
DEMO = REPO_ROOT / "deploy" / "demo" / "pagerduty_incidents.json"
TOKEN = "u+pd-secret-token"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def make(**settings: Any) -> PagerDutyConnector:
    values: dict[str, Any] = {"pagerduty_api_token": TOKEN, "pagerduty_service_ids": ["PWHOOKS", "PRTGATE"], **settings}
    connector = build_connector(Settings(**values), "pagerduty", sleep=lambda _s: None)
    assert isinstance(connector, PagerDutyConnector)
    return connector


def test_offset_pages_while_more(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=fixture("incidents_page1.json"))
    httpx_mock.add_response(json=fixture("incidents_page2.json"))

    signals = list(make().read_api(datetime(2026, 11, 1, tzinfo=UTC)))

    assert [s.source_key for s in signals] == ["pagerduty:Q1WHK7A2", "pagerduty:Q1WHK9C4"]
    first, second = httpx_mock.get_requests()
    assert first.url.params.get_list("service_ids[]") == ["PWHOOKS", "PRTGATE"]
    assert first.url.params["since"] == "2026-11-01T00:00:00Z"
    assert first.url.params["until"] > first.url.params["since"]  # since..now
    assert first.headers["Authorization"] == f"Token token={TOKEN}"
    assert "version=2" in first.headers["Accept"]
    assert second.url.params["offset"] == "1"
    assert second.url.params.get_list("service_ids[]") == ["PWHOOKS", "PRTGATE"]  # the filter stays on every page


def test_an_incident_is_a_reliability_row(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=fixture("incidents_page1.json") | {"more": False})

    (incident,) = make().read_api(None)

    assert incident.kind_hint is KindHint.RELIABILITY
    assert incident.title == "[#2291] Webhook delivery failures above 5%"
    assert incident.url == "https://wavelength.pagerduty.com/incidents/Q1WHK7A2"
    assert (
        "Urgency: high · Service: Webhook Dispatcher · Status: resolved · Duration: 2h 43m" in incident.text
    )  # 01:58:10 -> 04:41:52
    assert httpx_mock.get_requests()[0].url.params["date_range"] == "all"  # no cursor: every incident


def test_open_incident_says_still_open(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=fixture("incidents_page2.json"))
    (incident,) = make().read_api(None)
    assert "Urgency: low" in incident.text
    assert "Duration: still open" in incident.text


def test_bad_token_names_the_setting(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=401, json={"error": {"message": "Unauthorized", "code": 2006}})
    with pytest.raises(SourceAuthError, match="PAGERDUTY_API_TOKEN") as caught:
        list(make().read_api(None))
    assert TOKEN not in str(caught.value)


def test_json_pages_export_and_csv_export(tmp_path: Path) -> None:
    pages = make(pagerduty_api_token=None, pagerduty_export_path=DEMO)
    assert [s.external_id for s in pages.read(None)] == ["Q1WHK7A2", "Q1LAT3B8", "Q1WHK9C4", "Q1LAT5D1"]

    csv_export = make(pagerduty_api_token=None, pagerduty_export_path=FIXTURES / "incidents.csv")
    signals = list(csv_export.read(None))

    assert [s.external_id for s in signals] == ["Q1WHK7A2", "Q1LAT3B8"]
    assert signals[1].title == "[#2295] p95 latency > 1500ms, us-east"
    assert "Duration: 51m" in signals[1].text
    (problem,) = csv_export.problems
    assert problem.where.endswith("incidents.csv:4")
    assert "no id" in problem.message


def test_export_that_is_not_incidents_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "pd.json"
    path.write_text('{"services": []}', encoding="utf-8")
    with pytest.raises(MalformedPayloadError, match=r"pd\.json"):
        list(make(pagerduty_api_token=None, pagerduty_export_path=path).read(None))


def test_duration_text() -> None:
    assert duration_text(60 * 60 * 26 + 120) == "1d 2h 2m"
    assert duration_text(30) == "0m"
    assert duration_text(None) == "still open"
