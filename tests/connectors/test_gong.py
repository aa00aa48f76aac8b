"""Gong connector: /v2/calls/extensive (records.cursor), feedback flagging, external quotes, JSON and CSV exports."""

from __future__ import annotations

import base64
import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from connectors.gong import GongConnector, parse_tracker_cell
from connectors.http import MalformedPayloadError, SourceAuthError
from connectors.signal import KindHint
from service.settings import Settings
from tests import REPO_ROOT

DEMO = REPO_ROOT / "deploy" / "demo" / "gong_calls.json"
API = "https://api.gong.io"


def call(call_id: str, *, trackers: list[dict[str, Any]] | None = None, brief: str = "", **meta: Any) -> dict[str, Any]:
    """A call in the shape /v2/calls/extensive returns with the connector's content selector."""
    return {
        "metaData": {
            "id": call_id,
            "url": f"https://app.gong.io/call?id={call_id}",
            "title": meta.get("title", "Acme Health | pilot check-in"),
            "scheduled": "2026-11-05T17:00:00Z",
            "started": meta.get("started", "2026-11-05T09:01:12-08:00"),
            "duration": 1840,
            "direction": "Conference",
            "scope": "External",
            "media": "Video",
            "language": "eng",
        },
        "context": [
            {
                "system": "Salesforce",
                "objects": [
                    {"objectType": "Opportunity", "objectId": "006A", "fields": [{"name": "Name", "value": "Renewal"}]},
                    {"objectType": "Account", "objectId": "001A", "fields": [{"name": "Name", "value": "Acme Health"}]},
                ],
            }
        ],
        "parties": [
            {"id": "p1", "speakerId": "111", "affiliation": "Internal", "emailAddress": "ae@wavelength.ai"},
            {"id": "p2", "speakerId": "222", "affiliation": "External", "emailAddress": "cto@acmehealth.com"},
        ],
        "content": {
            "trackers": trackers if trackers is not None else [{"id": "t1", "name": "Product Feedback", "count": 2}],
            "brief": brief or "Acme wants a HIPAA BAA before expanding the pilot.",
            "highlights": [{"title": "Next steps", "items": [{"text": "Send the BAA draft", "startTimes": [812.2]}]}],
            "pointsOfInterest": {
                "actionItems": [
                    {"snippet": "We cannot go live without a signed BAA.", "speakerId": "222"},
                    {"snippet": "I'll loop in legal on our side.", "speakerId": "111"},
                ]
            },
        },
    }


def make(**settings: Any) -> tuple[GongConnector, list[float]]:
    values: dict[str, Any] = {"gong_access_key": "AK123", "gong_access_key_secret": "gong-secret-xyz"}
    values.update(settings)
    sleeps: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    return GongConnector(Settings(**values).gong_config(), sleep=sleep, clock=lambda: now[0]), sleeps


def test_pages_on_records_cursor_and_posts_the_content_selector(httpx_mock: HTTPXMock) -> None:
    first_page = {"requestId": "r1", "records": {"totalRecords": 2, "cursor": "CUR1"}, "calls": [call("1")]}
    httpx_mock.add_response(json=first_page)
    httpx_mock.add_response(json={"requestId": "r2", "records": {"totalRecords": 2}, "calls": [call("2")]})
    connector, sleeps = make()

    signals = list(connector.read_api(datetime(2026, 11, 1, tzinfo=UTC)))

    assert [s.external_id for s in signals] == ["1", "2"]
    first, second = httpx_mock.get_requests()
    assert first.method == "POST"
    assert first.url.path == "/v2/calls/extensive"
    body = json.loads(first.content)
    assert body["filter"] == {"fromDateTime": "2026-11-01T00:00:00+00:00"}
    assert body["contentSelector"]["exposedFields"]["content"]["highlights"] is True
    assert "cursor" not in body
    assert json.loads(second.content)["cursor"] == "CUR1"
    user, secret = base64.b64decode(first.headers["Authorization"].removeprefix("Basic ")).decode().split(":")
    assert (user, secret) == ("AK123", "gong-secret-xyz")
    assert sleeps == [pytest.approx(1 / 3)]  # 3 requests per second
    assert connector.calls == 2


def test_call_becomes_a_signal_with_account_and_only_external_quotes(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"records": {}, "calls": [call("9")]})
    (signal,) = make()[0].read_api(None)
    assert signal.customer == "Acme Health"
    assert signal.url == "https://app.gong.io/call?id=9"
    assert signal.title == "Acme Health | pilot check-in"
    assert "HIPAA BAA" in signal.text
    assert "- Next steps: Send the BAA draft" in signal.text
    assert '"We cannot go live without a signed BAA."' in signal.text
    assert "loop in legal" not in signal.text  # our own rep's words are not customer evidence
    assert signal.created_at == datetime(2026, 11, 5, 17, 1, 12, tzinfo=UTC)


def test_only_calls_flagged_as_feedback_are_kept(httpx_mock: HTTPXMock) -> None:
    calls = [
        call("tracker", trackers=[{"name": "Feature request", "count": 1}]),
        call("zero", trackers=[{"name": "Product feedback", "count": 0}], brief="Pricing chat."),
        call("keyword", trackers=[], brief="They gave product feedback: Spanish voices please."),
        call("plain", trackers=[{"name": "Pricing", "count": 3}], brief="Renewal pricing discussion."),
    ]
    httpx_mock.add_response(json={"records": {}, "calls": calls})
    assert [s.external_id for s in make()[0].read_api(None)] == ["tracker", "keyword"]


def test_no_calls_found_404_is_an_empty_window(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        status_code=404, json={"requestId": "x", "errors": ["No calls found corresponding to the provided filters"]}
    )
    connector, _ = make()
    assert list(connector.read_api(datetime(2026, 11, 19, tzinfo=UTC))) == []


def test_429_retry_after_then_success(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=429, headers={"Retry-After": "9"})
    httpx_mock.add_response(json={"records": {}, "calls": [call("1")]})
    connector, sleeps = make()
    assert [s.external_id for s in connector.read_api(None)] == ["1"]
    assert 9.0 in sleeps


def test_5xx_then_success(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=500)
    httpx_mock.add_response(json={"records": {}, "calls": [call("1")]})
    connector, _ = make()
    assert [s.external_id for s in connector.read_api(None)] == ["1"]
    assert connector.calls == 2


def test_401_names_the_key_settings_only(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=401, json={"requestId": "x", "errors": ["Invalid credentials"]})
    with pytest.raises(SourceAuthError) as error:
        list(make()[0].read_api(None))
    assert "GONG_ACCESS_KEY_SECRET" in str(error.value)
    assert "gong-secret-xyz" not in str(error.value)


def test_malformed_payload_and_malformed_call(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"records": {}, "calls": [{"id": "flat"}, call("2", started="soon")]})
    connector, _ = make()
    assert list(connector.read_api(None)) == []
    assert connector.problems[0].message.startswith("expected a call object")
    assert "soon" in connector.problems[1].message
    assert connector.problems[1].where.endswith("call 2")

    httpx_mock.add_response(json={"records": {}, "data": []})
    with pytest.raises(MalformedPayloadError, match="calls"):
        list(make()[0].read_api(None))


def test_export_json_reports_bad_call_by_line(tmp_path: Path) -> None:
    path = tmp_path / "calls.json"
    bad = call("2")
    del bad["metaData"]["id"]
    path.write_text(json.dumps({"calls": [call("1"), bad]}, indent=1))
    meta_lines = [n for n, line in enumerate(path.read_text().splitlines(), 1) if '"metaData"' in line]
    bad_line = meta_lines[1] - 1  # the second call's opening brace
    connector, _ = make(gong_export_path=path)
    assert [s.external_id for s in connector.read_export(None)] == ["1"]
    (problem,) = connector.problems
    assert problem.where == f"{path}:{bad_line}"


def test_export_csv_with_trackers_cell_and_a_bad_date(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Call ID", "Title", "Started", "Account", "Trackers", "Brief", "Highlights", "URL"])
        writer.writerow(["c1", "Globex | demo", "2026-11-07T15:00:00Z", "Globex Bank", "Product feedback:2; Pricing:1",
                         "Needs a Salesforce native integration; lost a deal to Retell over it.", "- Salesforce\n- SSO",
                         "https://app.gong.io/call?id=c1"])  # fmt: skip
        writer.writerow(["c2", "Hooli | check-in", "8th of Nov 2026", "Hooli", "Product feedback", "", "", ""])
        writer.writerow(["c3", "Pricing", "2026-11-09T15:00:00Z", "Initech Insurance", "Pricing", "Price talk", "", ""])
    connector, _ = make(gong_export_path=path)

    signals = list(connector.read_export(None))

    assert [s.external_id for s in signals] == ["c1"]  # c2 has a bad date, c3 is not feedback
    assert signals[0].customer == "Globex Bank"
    assert signals[0].tags == ("competitive-loss",)
    assert signals[0].kind_hint is KindHint.FEATURE
    assert "- Salesforce\n- SSO" in signals[0].text
    (problem,) = connector.problems
    assert problem.where == f"{path}:4"  # c1 spans lines 2-3
    assert "8th of Nov 2026" in problem.message


def test_tracker_cell_parsing() -> None:
    assert parse_tracker_cell("Product feedback:2; Competitors (1), Pricing") == {
        "Product feedback": 2,
        "Competitors": 1,
        "Pricing": 1,
    }
    assert parse_tracker_cell("") == {}


def test_export_of_the_wrong_shape_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "calls.json"
    path.write_text('{"records": {}}')
    with pytest.raises(MalformedPayloadError, match="calls"):
        list(make(gong_export_path=path)[0].read_export(None))


def test_demo_export_reads_cleanly() -> None:
    connector, _ = make(gong_access_key=None, gong_access_key_secret=None, gong_export_path=DEMO)
    signals = list(connector.read_export(None))
    assert connector.problems == []
    assert 5 <= len(signals) <= 12
    assert all(s.customer for s in signals)
