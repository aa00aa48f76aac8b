"""Zendesk connector: Incremental Ticket Export (cursor), side-loads, auth, rate limits, and the JSON export file."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from connectors.http import MalformedPayloadError, SourceAuthError, SourceConfigError
from connectors.signal import KindHint
from connectors.zendesk import ZendeskConnector
from service.settings import Settings
from tests import REPO_ROOT
from tests.connectors.fake_time import FakeTime

DEMO = REPO_ROOT / "deploy" / "demo" / "zendesk_tickets.json"
BASE = "https://acme.zendesk.com"


def ticket(ticket_id: int, **overrides: Any) -> dict[str, Any]:
    """A ticket in the shape the Incremental Ticket Export returns."""
    body: dict[str, Any] = {
        "url": f"{BASE}/api/v2/tickets/{ticket_id}.json",
        "id": ticket_id,
        "external_id": None,
        "via": {"channel": "email", "source": {"from": {"address": "ops@example.org"}, "to": {}, "rel": None}},
        "created_at": "2026-11-03T14:05:00Z",
        "updated_at": "2026-11-04T09:00:00Z",
        "type": "question",
        "subject": f"Ticket {ticket_id}",
        "raw_subject": f"Ticket {ticket_id}",
        "description": "Please add a <b>Salesforce</b> integration.",
        "priority": "normal",
        "status": "open",
        "requester_id": 501,
        "submitter_id": 501,
        "assignee_id": 900,
        "organization_id": None,
        "group_id": 7,
        "tags": ["feature-request", "voice-agents"],
        "custom_fields": [],
    }
    body.update(overrides)
    return body


def page(tickets: list[dict[str, Any]], *, cursor: str | None, end: bool, **extra: Any) -> dict[str, Any]:
    return {
        "tickets": tickets,
        "after_url": f"{BASE}/api/v2/incremental/tickets/cursor.json?cursor={cursor}" if cursor else None,
        "after_cursor": cursor,
        "before_url": None,
        "before_cursor": None,
        "end_of_stream": end,
        **extra,
    }


def make(fake: FakeTime | None = None, **settings: Any) -> ZendeskConnector:
    values: dict[str, Any] = {
        "zendesk_url": BASE,
        "zendesk_email": "pm@wavelength.ai",
        "zendesk_api_token": "zd-token-123",
    }
    values.update(settings)
    fake = fake or FakeTime()
    return ZendeskConnector(Settings(**values).zendesk_config(), sleep=fake.sleep, clock=fake.clock)


def test_follows_the_cursor_to_end_of_stream_with_side_loaded_organizations(httpx_mock: HTTPXMock) -> None:
    orgs = [{"id": 42, "name": "Acme Health"}]
    users = [{"id": 501, "email": "jane@hooli.com"}]
    httpx_mock.add_response(
        json=page([ticket(1, organization_id=42)], cursor="c1", end=False, organizations=orgs, users=users)
    )
    httpx_mock.add_response(json=page([ticket(2)], cursor="c2", end=True, organizations=[], users=users))
    connector = make()

    signals = list(connector.read_api(datetime(2026, 11, 1, tzinfo=UTC)))

    assert [s.external_id for s in signals] == ["1", "2"]
    assert signals[0].customer == "Acme Health"
    assert signals[1].customer == "hooli.com"  # no organization: the requester's email domain
    assert signals[0].url == f"{BASE}/agent/tickets/1"
    assert signals[0].text == "Please add a Salesforce integration."
    first, second = httpx_mock.get_requests()
    assert first.url.params["start_time"] == str(int(datetime(2026, 11, 1, tzinfo=UTC).timestamp()))
    assert "users" in first.url.params["include"]
    assert "organizations" in first.url.params["include"]
    assert second.url.params["cursor"] == "c1"
    assert "start_time" not in second.url.params
    assert connector.calls == 2


def test_api_token_auth_is_basic_email_slash_token(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=page([], cursor=None, end=True))
    list(make().read_api(None))
    header = httpx_mock.get_requests()[0].headers["Authorization"]
    assert base64.b64decode(header.removeprefix("Basic ")).decode() == "pm@wavelength.ai/token:zd-token-123"


def test_oauth_token_is_sent_as_bearer(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=page([], cursor=None, end=True))
    list(make(zendesk_email=None, zendesk_api_token=None, zendesk_oauth_token="oauth-xyz").read_api(None))
    assert httpx_mock.get_requests()[0].headers["Authorization"] == "Bearer oauth-xyz"


def test_organizations_not_side_loaded_are_fetched_with_show_many(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=page([ticket(1, organization_id=77)], cursor=None, end=True, organizations=[]))
    httpx_mock.add_response(json={"organizations": [{"id": 77, "name": "Globex Bank"}]})
    signals = list(make().read_api(None))
    assert signals[0].customer == "Globex Bank"
    show_many = httpx_mock.get_requests()[1]
    assert show_many.url.path == "/api/v2/organizations/show_many.json"
    assert show_many.url.params["ids"] == "77"


def test_filters_by_tags_since_and_deleted_and_guesses_kind(httpx_mock: HTTPXMock) -> None:
    tickets = [
        ticket(1, tags=["billing"]),  # not feedback
        ticket(2, updated_at="2026-10-01T00:00:00Z", created_at="2026-10-01T00:00:00Z"),  # before since
        ticket(3, status="deleted"),
        ticket(4, type="problem", tags=["voice-agents"], description="Webhook retries never arrive"),
        ticket(5, description="We lost the deal to Vapi over latency; the pilot may cancel its contract."),
    ]
    httpx_mock.add_response(json=page(tickets, cursor=None, end=True, organizations=[{"id": 42, "name": "Acme"}]))
    connector = make()
    signals = {s.external_id: s for s in connector.read_api(datetime(2026, 11, 1, tzinfo=UTC))}
    assert set(signals) == {"4", "5"}
    assert signals["4"].kind_hint is KindHint.BUG  # Zendesk type "problem"
    assert signals["5"].kind_hint is KindHint.FEATURE
    assert signals["5"].tags == ("competitive-loss", "churn-risk")
    assert connector.problems == []


def test_429_waits_retry_after_then_succeeds(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=429, headers={"Retry-After": "17"})
    httpx_mock.add_response(json=page([ticket(1)], cursor=None, end=True))
    fake = FakeTime()
    signals = list(make(fake).read_api(None))
    assert [s.external_id for s in signals] == ["1"]
    assert 17.0 in fake.sleeps


def test_rate_limiter_paces_pages_at_ten_a_minute(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=page([], cursor="c1", end=False))
    httpx_mock.add_response(json=page([], cursor="c2", end=False))
    httpx_mock.add_response(json=page([], cursor=None, end=True))
    fake = FakeTime()
    list(make(fake).read_api(None))
    assert fake.sleeps == [pytest.approx(6.0), pytest.approx(6.0)]


def test_5xx_is_retried_then_succeeds(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=503)
    httpx_mock.add_response(json=page([ticket(1)], cursor=None, end=True))
    connector = make()
    assert [s.external_id for s in connector.read_api(None)] == ["1"]
    assert connector.calls == 2


def test_401_names_the_settings_and_never_the_token(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=401, json={"error": "Couldn't authenticate you"})
    with pytest.raises(SourceAuthError) as error:
        list(make().read_api(None))
    assert "ZENDESK_API_TOKEN" in str(error.value)
    assert "zd-token-123" not in str(error.value)


def test_403_says_the_user_is_not_an_admin(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(status_code=403, json={"error": "Forbidden"})
    with pytest.raises(SourceAuthError, match="not a Zendesk admin"):
        list(make().read_api(None))


def test_malformed_payload_is_an_error_naming_the_shape(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json={"results": []})
    with pytest.raises(MalformedPayloadError, match="tickets"):
        list(make().read_api(None))


def test_malformed_ticket_on_a_page_is_skipped_and_reported(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(json=page([ticket(1, updated_at="yesterday-ish"), ticket(2)], cursor=None, end=True))
    connector = make()
    assert [s.external_id for s in connector.read_api(None)] == ["2"]
    (problem,) = connector.problems
    assert problem.where == f"{BASE}/api/v2/tickets/1.json"
    assert "yesterday-ish" in problem.message


def test_bare_subdomain_means_zendesk_com(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=f"{BASE}/api/v2/incremental/tickets/cursor.json?include=users%2Corganizations&start_time=0",
                            json=page([ticket(9)], cursor=None, end=True))  # fmt: skip
    signals = list(make(zendesk_url="acme").read_api(None))
    assert signals[0].url == f"{BASE}/agent/tickets/9"


# --- export files ---------------------------------------------------------------------------------------------


def test_export_json_object_with_a_malformed_ticket_reports_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "tickets.json"
    good = ticket(1, organization={"id": 42, "name": "Stark Retail"})
    bad = ticket(2, created_at="not a date", updated_at=None)
    path.write_text(json.dumps({"tickets": [good, bad, ticket(3)]}, indent=2))
    bad_line = next(n for n, line in enumerate(path.read_text().splitlines(), 1) if "tickets/2.json" in line) - 1
    connector = make(zendesk_url=None, zendesk_export_path=path)

    signals = list(connector.read_export(None))

    assert [s.external_id for s in signals] == ["1", "3"]
    assert signals[0].customer == "Stark Retail"
    assert signals[0].url == f"{BASE}/agent/tickets/1"  # host taken from the ticket's API url
    (problem,) = connector.problems
    assert problem.where == f"{path}:{bad_line}"
    assert "not a date" in problem.message


def test_export_ndjson_reports_the_bad_line_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "tickets.ndjson"
    lines = [json.dumps(ticket(1)), "{not json", "", json.dumps(ticket(2, id=None)), json.dumps(ticket(3))]
    path.write_text("\n".join(lines) + "\n")
    connector = make(zendesk_export_path=path)
    assert [s.external_id for s in connector.read_export(None)] == ["1", "3"]
    assert [p.where for p in connector.problems] == [f"{path}:2", f"{path}:4"]


def test_export_top_level_array_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "tickets.json"
    path.write_text(json.dumps([ticket(7)]))
    assert [s.external_id for s in make(zendesk_export_path=path).read_export(None)] == ["7"]


def test_export_of_the_wrong_shape_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "tickets.json"
    path.write_text(json.dumps({"users": []}))
    with pytest.raises(MalformedPayloadError, match="tickets"):
        list(make(zendesk_export_path=path).read_export(None))


def test_missing_export_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(SourceConfigError, match="ZENDESK_EXPORT_PATH"):
        list(make(zendesk_export_path=tmp_path / "nope.json").read_export(None))


def test_configuration_needs_url_and_credentials() -> None:
    assert make().api_configured()
    assert not make(zendesk_url=None).api_configured()
    assert not make(zendesk_api_token=None).api_configured()
    assert make(zendesk_email=None, zendesk_api_token=None, zendesk_oauth_token="o").api_configured()


def test_demo_export_reads_cleanly() -> None:
    connector = make(zendesk_url=None, zendesk_export_path=DEMO)
    signals = list(connector.read_export(None))
    assert connector.problems == []
    assert 10 <= len(signals) <= 20
    assert all(datetime(2026, 11, 1, tzinfo=UTC) <= s.updated_at < datetime(2026, 11, 21, tzinfo=UTC) for s in signals)
    assert any(s.customer == "Acme Health" for s in signals)
